"""The training loop: LR schedule, data order, and resume after an interruption replays the same run exactly."""

import math

import numpy as np
import pytest
import torch
from train_toy import ToyTask, toy_data

from motion_mamba.train.checkpointing import CheckpointError, load_checkpoint
from motion_mamba.train.config import TrainConfig, lr_at
from motion_mamba.train.loop import batch_indices, train


def _cfg(**kw):
    base = dict(steps=6, batch_size=8, lr=1e-2, ckpt_every=3, val_every=3, val_batches=2, log_every=1,
                ema_decay=0.9, warmup_steps=2)
    base.update(kw)
    return TrainConfig(**base)


def test_lr_schedule():
    cfg = TrainConfig(steps=11, lr=1.0, warmup_steps=2, min_lr_ratio=0.1)
    assert [lr_at(s, cfg) for s in (0, 1)] == [0.5, 1.0]
    assert lr_at(2, cfg) == pytest.approx(1.0)
    assert lr_at(10, cfg) == pytest.approx(0.1)
    assert lr_at(6, cfg) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 4 / 8)))
    assert lr_at(7, TrainConfig(steps=11, lr=3e-4, schedule="constant")) == 3e-4


def test_batches_cover_each_epoch_and_shard_by_rank():
    n, b = 10, 4
    stream = np.concatenate([batch_indices(n, b, s, seed=1) for s in range(5)])  # 20 items = 2 epochs
    assert sorted(stream[:10]) == list(range(10)) and sorted(stream[10:]) == list(range(10))
    both = [batch_indices(n, 2, 3, seed=1, rank=r, world=2) for r in (0, 1)]
    np.testing.assert_array_equal(np.sort(np.concatenate(both)), np.sort(batch_indices(n, 4, 3, seed=1)))


def test_train_writes_checkpoints_and_log(tmp_path):
    data = toy_data()
    res = train(ToyTask(), data, data[:16], _cfg(), tmp_path, {"stage": "toy"}, progress=False)
    assert res.finished and res.step == 6 and res.checkpoint.name == "step_00000006"
    assert np.isfinite(res.val_loss)
    _, meta = load_checkpoint(res.checkpoint)
    assert meta["run"] == {"stage": "toy"} and meta["train"]["steps"] == 6 and meta["ema_updates"] == 6
    assert len((tmp_path / "log.jsonl").read_text().splitlines()) == 6


def test_resume_replays_the_uninterrupted_run(tmp_path):
    data = toy_data()
    full = ToyTask(dropout=0.2)
    train(full, data, None, _cfg(), tmp_path / "a", {"stage": "toy"}, progress=False)
    # "killed" after step 3: same config but stopped; then a fresh process resumes from the checkpoint
    part = train(ToyTask(dropout=0.2), data, None, _cfg(steps=6, max_seconds=1e-9), tmp_path / "b",
                 {"stage": "toy"}, progress=False)
    assert part.step == 1 and not part.finished  # time budget: stopped after one step, checkpoint written
    part = train(ToyTask(dropout=0.2), data, None, _cfg(), tmp_path / "b", {"stage": "toy"}, progress=False,
                 stop=iter([False, True]).__next__)  # asked after steps 2 and 3
    assert part.step == 3 and not part.finished and part.checkpoint.name == "step_00000003"
    resumed = ToyTask(dropout=0.2)
    res = train(resumed, data, None, _cfg(), tmp_path / "b", {"stage": "toy"}, progress=False)
    assert res.finished
    for (k, a), b in zip(full.module.state_dict().items(), resumed.module.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6, msg=k)
    ema_a, _ = load_checkpoint(tmp_path / "a" / "checkpoints" / "step_00000006")
    ema_b, _ = load_checkpoint(tmp_path / "b" / "checkpoints" / "step_00000006")
    for k in ema_a["ema"]:
        torch.testing.assert_close(ema_a["ema"][k], ema_b["ema"][k], rtol=0, atol=1e-6)


def test_a_call_that_resumes_at_its_last_step_reports_the_losses(tmp_path):
    """Exporting a stopped run (`--steps` = the step it reached) trains nothing: its result and hence the bundle's
    metadata carry the checkpoint's losses, not NaN."""
    data = toy_data()
    first = train(ToyTask(), data, data[:16], _cfg(), tmp_path, {"stage": "toy"}, progress=False)
    again = train(ToyTask(), data, data[:16], _cfg(), tmp_path, {"stage": "toy"}, progress=False)
    assert again.finished and again.step == first.step
    assert again.loss == pytest.approx(first.loss) and again.val_loss == pytest.approx(first.val_loss)


def test_resume_refuses_a_different_run(tmp_path):
    data = toy_data()
    train(ToyTask(), data, None, _cfg(steps=3), tmp_path, {"stage": "toy", "preset": "a"}, progress=False)
    with pytest.raises(CheckpointError, match="different configuration"):
        train(ToyTask(), data, None, _cfg(), tmp_path, {"stage": "toy", "preset": "b"}, progress=False)


def test_nan_loss_stops_with_clear_error(tmp_path):
    data = [(x, torch.full_like(y, float("nan"))) for x, y in toy_data()]
    with pytest.raises(FloatingPointError, match="step 0"):
        train(ToyTask(), data, None, _cfg(), tmp_path, {"stage": "toy"}, progress=False)
