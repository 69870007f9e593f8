"""The evaluation protocol: each method is judged on the same captions, crops, seeds and metric draws, so a
paired comparison of two models does not depend on the order they are listed in."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from motion_mamba.eval.evaluator import EvaluatorConfig, TextMotionEvaluator, evaluator_statistics
from motion_mamba.eval.runner import EvalSettings, Reconstruction, evaluate


class Noise:
    """Generates standard-normal features scaled by `scale`, drawn from the seed each clip is given."""

    def __init__(self, name: str, scale: float):
        self.name, self.scale = name, scale

    def __call__(self, captions, frames, seeds):
        return [self.scale * np.random.default_rng(s).normal(size=(f, 263)).astype(np.float32)
                for f, s in zip(frames, seeds)]


def _clips_and_evaluator():
    rng = np.random.default_rng(0)
    clips = [SimpleNamespace(features=rng.normal(size=(int(rng.integers(40, 80)), 263)).astype(np.float32),
                             captions=[f"caption {i}", f"other {i}"]) for i in range(40)]
    feats = np.concatenate([c.features for c in clips])
    cfg = EvaluatorConfig(text_encoder="tiny", text_dim=32, movement_dim=32, motion_hidden=32, text_hidden=32,
                          embed_dim=16, dropout=0.0)
    torch.manual_seed(0)
    return clips, TextMotionEvaluator(cfg, *evaluator_statistics(feats.mean(0), feats.std(0), cfg.skeleton))


def test_a_method_scores_the_same_whatever_its_place_in_the_list():
    clips, evaluator = _clips_and_evaluator()
    a, b = Noise("a", 1.0), Noise("b", 3.0)
    settings = EvalSettings(repeats=2, mm_samples=4, mm_repeats=3)
    first = {r.name: r.repetitions for r in evaluate(evaluator, clips, [a, b], settings, progress=False)}
    second = {r.name: r.repetitions for r in evaluate(evaluator, clips, [b, a], settings, progress=False)}
    assert first == second
    assert first["a"][0]["FID"] < first["b"][0]["FID"]


class IdentityVAE:
    """Normalises with made-up statistics and "encodes" to the features themselves: a perfect autoencoder."""

    mean, std = torch.full((263,), 0.5), torch.full((263,), 2.0)

    def normalize_features(self, x):
        return (x - self.mean) / self.std

    def denormalize_features(self, x):
        return x * self.std + self.mean

    def encode_latent(self, x, lengths):
        return x.clone()

    def decode_latent(self, z, lengths):
        return z[:, : int(lengths.max())]


def test_a_perfect_vae_reconstructs_the_evaluated_crops_and_scores_as_real_data():
    """The reconstruction row reads the very crops the real row is scored on (not a caption), clip by clip."""
    clips, evaluator = _clips_and_evaluator()
    recon = Reconstruction(SimpleNamespace(model=IdentityVAE(), device="cpu"), "vae", batch_size=16)
    settings = EvalSettings(repeats=2, mm_samples=4, mm_repeats=3, timing_sentences=2)
    real, row = evaluate(evaluator, clips, [recon], settings, progress=False)
    assert [r["FID"] for r in row.repetitions] == pytest.approx([r["FID"] for r in real.repetitions], abs=1e-4)
    assert "MModality" not in row.summary and row.seconds_per_sentence is None
