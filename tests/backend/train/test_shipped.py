"""The shipped recipe's per-stage time budgets: probe, plan the steps that fit, keep the plan across reruns."""

import json
import math

from motion_mamba.train.config import TrainConfig
from motion_mamba.train.loop import TrainResult
from motion_mamba.train.shipped import budgeted


class FakeStage:
    """Trains at `speed` steps/s of simulated time; remembers its step like a checkpointed run."""

    def __init__(self, speed: float):
        self.speed, self.step, self.calls = speed, 0, []

    def __call__(self, cfg: TrainConfig):
        self.calls.append((cfg.steps, cfg.max_seconds))
        start = self.step
        limit = cfg.steps if cfg.max_seconds <= 0 else min(cfg.steps, start + max(1, int(cfg.max_seconds * self.speed)))
        self.step = max(start, limit)
        done = self.step >= cfg.steps
        res = TrainResult(self.step, done, None, math.nan if self.step == start else 1.0, None,
                          self.speed if self.step > start else 0.0)
        return res, ("bundle" if done else None)


def test_probe_then_plan_within_budget(tmp_path):
    stage, plan = FakeStage(speed=2.0), {}
    cfg = TrainConfig(steps=100_000, batch_size=4)
    result, bundle, report = budgeted("vae", stage, cfg, budget_s=600, probe_s=60, plan=plan,
                                      plan_path=tmp_path / "plan.json")
    assert stage.calls[0] == (100_000, 60)  # the probe
    assert 120 < plan["vae"] <= 120 + int(0.9 * 600 * 2.0)  # fits the budget at the measured speed
    assert result.finished and bundle == "bundle" and report["steps"] == plan["vae"]
    assert report["steps_per_s"] == 2.0 and json.loads((tmp_path / "plan.json").read_text()) == plan


def test_short_stage_and_rerun_keep_the_plan(tmp_path):
    stage = FakeStage(speed=100.0)
    _, _, report = budgeted("ev", stage, TrainConfig(steps=50), 600, 60, {}, tmp_path / "p.json")
    assert report["steps"] == 50 and len(stage.calls) == 2  # finished inside the probe; second call is a no-op
    rerun = FakeStage(speed=1.0)
    rerun.step = 30  # killed at step 30 of a planned 40
    _, _, report = budgeted("vae", rerun, TrainConfig(steps=1000), 600, 60, {"vae": 40}, tmp_path / "p.json")
    assert rerun.calls[0][0] == 40 and report["steps"] == 40
