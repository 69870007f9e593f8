"""The evaluation protocol: each method is judged on the same captions, crops, seeds and metric draws, so a
paired comparison of two models does not depend on the order they are listed in."""

from types import SimpleNamespace

import numpy as np
import torch

from motion_mamba.eval.evaluator import EvaluatorConfig, TextMotionEvaluator, evaluator_statistics
from motion_mamba.eval.runner import EvalSettings, evaluate


class Noise:
    """Generates standard-normal features scaled by `scale`, drawn from the seed each clip is given."""

    def __init__(self, name: str, scale: float):
        self.name, self.scale = name, scale

    def __call__(self, captions, frames, seeds):
        return [self.scale * np.random.default_rng(s).normal(size=(f, 263)).astype(np.float32)
                for f, s in zip(frames, seeds)]


def test_a_method_scores_the_same_whatever_its_place_in_the_list():
    rng = np.random.default_rng(0)
    clips = [SimpleNamespace(features=rng.normal(size=(int(rng.integers(40, 80)), 263)).astype(np.float32),
                             captions=[f"caption {i}", f"other {i}"]) for i in range(40)]
    feats = np.concatenate([c.features for c in clips])
    cfg = EvaluatorConfig(text_encoder="tiny", text_dim=32, movement_dim=32, motion_hidden=32, text_hidden=32,
                          embed_dim=16, dropout=0.0)
    torch.manual_seed(0)
    evaluator = TextMotionEvaluator(cfg, *evaluator_statistics(feats.mean(0), feats.std(0), cfg.skeleton))
    a, b = Noise("a", 1.0), Noise("b", 3.0)
    settings = EvalSettings(repeats=2, mm_samples=4, mm_repeats=3)
    first = {r.name: r.repetitions for r in evaluate(evaluator, clips, [a, b], settings, progress=False)}
    second = {r.name: r.repetitions for r in evaluate(evaluator, clips, [b, a], settings, progress=False)}
    assert first == second
    assert first["a"][0]["FID"] < first["b"][0]["FID"]
