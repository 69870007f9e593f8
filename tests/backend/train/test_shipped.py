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


def test_quality_bars_from_results():
    from motion_mamba.eval.runner import MethodResult
    from motion_mamba.train.model_card import ab_table, acceptance

    def row(name, r3, fid, skate, sps=None):
        return MethodResult(name, {"R@3": (r3, 0.01), "FID": (fid, 0.1)}, seconds_per_sentence=sps,
                            physical={"skate_speed_cm_s": skate})

    results = [row("Real", 0.80, 0.01, 2.0), row("mm", 0.70, 1.0, 2.9, 0.1), row("mm @ init", 0.1, 20.0, 9.0, 0.1),
               row("mm-baseline", 0.5, 3.0, 4.0, 0.05)]
    checks = {name: ok for name, ok, _ in acceptance(results)}
    assert checks == {"R@3 >= 0.8 x real": True, "FID <= 10% of FID at initialisation": True,
                      "foot skating <= 1.5 x real": True}
    results[1] = row("mm", 0.6, 2.5, 3.5, 0.1)
    assert not any(ok for _, ok, _ in acceptance(results))
    table = ab_table(results)
    assert "| mm |" in table and "| mm-baseline |" in table and "@ init" not in table and "Real" not in table
