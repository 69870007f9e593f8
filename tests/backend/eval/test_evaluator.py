"""The contrastive text-motion evaluator learns to match captions with their motions, and saves/loads exactly."""

import numpy as np
import pytest
import torch

from motion_mamba.eval import metrics
from motion_mamba.eval.evaluator import (EvaluatorConfig, EvaluatorTask, TextMotionEvaluator, crop_to_unit,
                                         evaluator_statistics)
from motion_mamba.train.config import TrainConfig
from motion_mamba.train.loop import train

CAPTIONS = ["a person walks forward", "a person jumps up", "someone waves the right hand", "a man sits down"]


def _clip(cls: int, rng: np.random.Generator) -> np.ndarray:
    T = int(rng.integers(24, 48))
    t = np.arange(T)[:, None] / 20.0
    base = np.sin(t * (1 + cls) * 2.0 + np.arange(263)[None, :] * 0.1 * (cls + 1))
    return (base + 0.1 * rng.normal(size=(T, 263))).astype(np.float32)


def _data(n: int, seed: int):
    rng = np.random.default_rng(seed)
    return [(_clip(i % 4, rng), [CAPTIONS[i % 4]]) for i in range(n)]  # (features, its captions)


def _evaluator(data):
    cfg = EvaluatorConfig(text_encoder="tiny", text_dim=32, movement_dim=32, motion_hidden=32, text_hidden=32,
                          embed_dim=16, dropout=0.0)
    feats = np.concatenate([f for f, _ in data])
    mean, std = evaluator_statistics(feats.mean(0), feats.std(0), cfg.skeleton)
    torch.manual_seed(0)
    return TextMotionEvaluator(cfg, mean, std)


def test_crop_to_unit_lengths():
    rng = np.random.default_rng(0)
    x = np.arange(42.0)[:, None]
    lengths = {len(crop_to_unit(x, rng)) for _ in range(200)}
    assert lengths == {36, 40}  # 42 -> 10 units, one fewer a third of the time
    assert len(crop_to_unit(x[:3], rng)) == 4


def test_evaluator_learns_to_match_and_roundtrips(tmp_path):
    data = _data(64, 0)
    ev = _evaluator(data)
    cfg = TrainConfig(steps=40, batch_size=16, lr=3e-3, ckpt_every=40, val_every=0, ema_decay=0.0, grad_clip=1.0)
    res = train(EvaluatorTask(ev), data, None, cfg, tmp_path / "run", {"stage": "evaluator"}, progress=False)
    assert res.finished
    test = _data(32, 1)
    lengths = [len(f) for f, _ in test]
    feats = np.zeros((len(test), max(lengths), 263), np.float32)
    for i, (f, _) in enumerate(test):
        feats[i, : len(f)] = f
    m = ev.encode_motion(feats, lengths)
    t = ev.encode_text(CAPTIONS)
    nearest_caption = metrics.euclidean_distance_matrix(m, t).argmin(1)
    assert (nearest_caption == np.arange(32) % 4).mean() == 1.0
    ev.save(tmp_path / "evaluator", extra={"data": "toy"})
    again = TextMotionEvaluator.load(tmp_path / "evaluator")
    np.testing.assert_allclose(again.encode_motion(feats, lengths), m, atol=1e-5)
    np.testing.assert_allclose(again.encode_text(CAPTIONS), t, atol=1e-5)


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json: missing"):
        TextMotionEvaluator.load(tmp_path)
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(ValueError, match="not an evaluator config"):
        TextMotionEvaluator.load(tmp_path)
