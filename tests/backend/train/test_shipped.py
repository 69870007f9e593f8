"""The shipped recipe: per-stage time budgets (probe, plan the steps that fit, keep the plan across reruns), the
quality bars, and what a rerun of a finished recipe does."""

import json
import math
import threading

import pytest
import torch

from motion_mamba.train.config import TrainConfig
from motion_mamba.train.loop import TrainResult
from motion_mamba.train.shipped import (BASELINE_TIME_RATIO, BUDGET_MINUTES, Handover, budgeted, rest_of_total,
                                        torch_threads)


class FakeStage:
    """Trains at `speed` steps/s of simulated time (scaled by torch's thread count over the count at creation);
    remembers its step like a checkpointed run. With `handover=(step, event)` the stage beside it ends (sets the
    event) when this one reaches that step."""

    def __init__(self, speed: float, handover: tuple[int, threading.Event] | None = None):
        self.speed, self.step, self.calls, self.handover = speed, 0, [], handover
        self.threads = torch.get_num_threads()

    def __call__(self, cfg: TrainConfig, stop=None):
        threads = torch.get_num_threads()
        self.calls.append((cfg.steps, cfg.max_seconds, threads))
        start, speed = self.step, self.speed * threads / self.threads
        limit = cfg.steps if cfg.max_seconds <= 0 else min(cfg.steps, start + max(1, int(cfg.max_seconds * speed)))
        if self.handover and start < self.handover[0] <= limit:
            self.handover[1].set()
            if stop is not None and stop():
                limit = self.handover[0]
        self.step = max(start, limit)
        done = self.step >= cfg.steps
        res = TrainResult(self.step, done, None, math.nan if self.step == start else 1.0, None,
                          speed if self.step > start else 0.0)
        return res, ("bundle" if done else None)


def test_probe_then_plan_within_budget(tmp_path):
    stage, plan = FakeStage(speed=2.0), {}
    cfg = TrainConfig(steps=100_000, batch_size=4)
    result, bundle, report = budgeted("vae", stage, cfg, budget_s=600, probe_s=60, plan=plan,
                                      plan_path=tmp_path / "plan.json")
    assert stage.calls[0][:2] == (100_000, 60)  # the probe
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


def test_a_stage_takes_the_cores_handed_over_and_plans_again(tmp_path):
    ended, plan = threading.Event(), {}
    with torch_threads(1):
        stage = FakeStage(speed=1.0, handover=(200, ended))
        result, _, report = budgeted("vae", stage, TrainConfig(steps=100_000), 600, 60, plan, tmp_path / "p.json",
                                     Handover(ended, 2))
        assert torch.get_num_threads() == 1
    first_plan = 60 + int(0.9 * 600 * 1.0)  # (simulated time: the budget is all left after the probe)
    assert [c[2] for c in stage.calls] == [1, 1, 2, 2]  # probe, train until the handover, probe again, train
    assert stage.calls[1][0] == pytest.approx(first_plan, abs=2) and stage.calls[2][0] == stage.calls[1][0]
    assert plan["vae+"] == 200 and plan["vae"] == pytest.approx(200 + 120 + 0.9 * 600 * 2, abs=2)  # twice as fast
    assert result.finished and report["steps"] == plan["vae"] and report["all_cores_from"] == 200
    assert json.loads((tmp_path / "p.json").read_text()) == plan

    with torch_threads(1):
        rerun = FakeStage(speed=1.0)  # killed after the re-plan: resumes it on all cores, no third probe
        rerun.step = 400
        budgeted("vae", rerun, TrainConfig(steps=100_000), 600, 60, dict(plan), tmp_path / "p2.json",
                 Handover(threading.Event(), 2))
    assert [(c[0], c[2]) for c in rerun.calls] == [(plan["vae"], 2)]


def test_the_denoisers_take_what_is_left_of_the_total():
    """Minutes the stages before leave unused go to the denoiser, less the baseline's share and the evaluation's;
    a slow machine gets less, never more than the total, and never past the ceiling."""
    b = dict(BUDGET_MINUTES)
    quiet, slow = rest_of_total(b, "denoiser", 19.0, BASELINE_TIME_RATIO), rest_of_total(b, "denoiser", 29.0, 0.3)
    assert quiet > 30 and quiet > slow > 25  # a quiet day: more than run f's fixed 30 minutes; a slow one ~27 (run i)
    assert 19.0 + quiet * (1 + BASELINE_TIME_RATIO) + b["eval"] == pytest.approx(b["total"])
    assert rest_of_total(b, "baseline", 19.0 + quiet) == pytest.approx(quiet * BASELINE_TIME_RATIO)
    assert rest_of_total(b, "baseline", b["total"]) == 0.0
    assert rest_of_total({**b, "total": 1000}, "denoiser", 0.0, 0.3) == b["denoiser"]


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


def test_fid_bar_compares_raw_outputs_when_the_raw_rows_exist():
    """The clean-up is not trained: with raw rows the FID bar is the raw output against the raw output at
    initialisation, so a clean-up that makes random weights look human (cleaned @ init FID 3.0 here) cannot fail it."""
    from motion_mamba.eval.runner import MethodResult
    from motion_mamba.train.model_card import acceptance, ab_table

    def row(name, fid):
        return MethodResult(name, {"R@3": (0.7, 0.01), "FID": (fid, 0.1)}, seconds_per_sentence=0.1,
                            physical={"skate_speed_cm_s": 1.0})

    results = [row("Real", 0.0), row("mm", 1.0), row("mm (raw)", 4.0), row("mm (one pass)", 2.0),
               row("mm @ init", 3.0), row("mm @ init (raw)", 60.0)]
    fid = [(name, ok, numbers) for name, ok, numbers in acceptance(results) if "FID" in name]
    assert fid == [("FID (raw) <= 10% of FID at initialisation (raw)", True, "4.000 vs 0.1 x 60.000")]
    results[2] = row("mm (raw)", 6.5)  # the raw output is what training is judged by, not the cleaned 1.0
    assert not [ok for name, ok, _ in acceptance(results) if "FID" in name][0]
    table = ab_table(results)
    assert "| mm |" in table and "@ init" not in table and "(raw)" not in table and "(one pass)" not in table


def test_rerunning_a_finished_recipe_only_evaluates_again(tmp_path, monkeypatch):
    """The second run of `train shipped` in a WORK folder whose stages all finished trains and exports nothing
    (a re-export used to overwrite the bundles' metadata and the card's stage timings with an empty run's), does
    not embed the captions again, and re-evaluates, its evaluation replacing the first in the wall-clock total.
    The guidance search runs once too, unless the clean-up changed. Stages side by side get half the cores each,
    the denoisers all of them. Everything but the recipe's control flow is faked: the real stages take an hour."""
    from types import SimpleNamespace

    import motion_mamba.data.synth.corpus as corpus
    import motion_mamba.model.checkpoint as checkpoint
    import motion_mamba.model.text as text_module
    import motion_mamba.train.data as data_module
    import motion_mamba.train.model_card as model_card
    import motion_mamba.train.shipped as shipped
    from motion_mamba.cli import build_parser
    from motion_mamba.model.config import TextConfig
    from motion_mamba.model.motion_model import MotionModel
    from motion_mamba.model.presets import get_preset

    work = tmp_path / "work"
    bundles = {"vae": work / "run" / "vae" / "model", "evaluator": work / "evaluator" / "evaluator",
               "denoiser": work / "run" / "denoiser" / "model",
               "baseline": work / "run" / "denoiser-transformer" / "model"}
    trained, evaluated, threads = [], [], {}

    def fake_budgeted(name, run, cfg, budget_s, probe_s, plan, plan_path, handover=None):
        trained.append(name)
        threads[name] = torch.get_num_threads()
        bundles[name].mkdir(parents=True, exist_ok=True)
        plan[name] = 10
        return TrainResult(10, True, None, 0.5, 0.5, 2.0), bundles[name], {"steps": 10, "minutes": 1.0}

    def fake_generate(out, clips, **kw):
        out.mkdir(parents=True)
        (out / "train.txt").write_text("clip\n")
        return {"clips": clips}

    vae = MotionModel(get_preset("demo"))
    clip = SimpleNamespace(captions=["a person walks"])
    monkeypatch.setattr(shipped, "budgeted", fake_budgeted)
    monkeypatch.setattr(shipped, "evaluate_recipe", lambda *a: evaluated.append(a) or {})
    monkeypatch.setattr(shipped, "choose_recipe_guidance", lambda *a: trained.append("guidance") or {"denoiser": {}})
    monkeypatch.setattr(corpus, "generate", fake_generate)
    monkeypatch.setattr(data_module, "load_split", lambda *a, **kw: SimpleNamespace(clips=[clip]))
    real_text_encoder = text_module.build_text_encoder
    monkeypatch.setattr(text_module, "build_text_encoder",
                        lambda cfg, *a: real_text_encoder(TextConfig(encoder="tiny", dim=32)))
    monkeypatch.setattr(checkpoint, "load_bundle", lambda path: (vae, {}))
    monkeypatch.setattr(model_card, "write_model_card",
                        lambda work, *a: (work / "MODEL_CARD.md").write_text("card") and work / "MODEL_CARD.md")

    args = build_parser().parse_args(["train", "shipped", "--out", str(work), "--threads", "4", "--no-progress"])
    threads_before = torch.get_num_threads()
    assert shipped.run_shipped(args) == 0
    assert sorted(trained) == ["baseline", "denoiser", "evaluator", "guidance", "vae"] and len(evaluated) == 1
    assert threads == {"vae": 2, "evaluator": 2, "denoiser": 4, "baseline": 4} and evaluated[0][-1] == 2
    assert torch.get_num_threads() == threads_before
    first = json.loads((work / "stages.json").read_text())
    assert "captions" in first

    trained.clear()
    assert shipped.run_shipped(args) == 0
    again = json.loads((work / "stages.json").read_text())
    assert trained == [] and len(evaluated) == 2
    assert {k: v for k, v in again.items() if k not in ("eval", "wall")} == {
        k: v for k, v in first.items() if k not in ("eval", "wall")}
    expected = first["wall"]["minutes"] - first["eval"]["minutes"] + again["eval"]["minutes"]
    assert again["wall"]["minutes"] == pytest.approx(expected, abs=0.02)

    # a clean-up change chooses the guidance again (it is chosen on the cleaned output): its minutes are replaced
    again["guidance"]["minutes"] = 5.0
    again["wall"]["minutes"] += 5.0
    (work / "stages.json").write_text(json.dumps(again))
    monkeypatch.setattr(shipped, "OUTPUT_VERSION", shipped.OUTPUT_VERSION + 1)
    trained.clear()
    assert shipped.run_shipped(args) == 0
    third = json.loads((work / "stages.json").read_text())
    assert trained == ["guidance"] and len(evaluated) == 3
    assert third["guidance"]["output_version"] == shipped.OUTPUT_VERSION
    assert third["wall"]["minutes"] == pytest.approx(again["wall"]["minutes"] - 5.0 - again["eval"]["minutes"]
                                                     + third["guidance"]["minutes"] + third["eval"]["minutes"],
                                                     abs=0.02)


def test_the_card_says_what_the_clean_up_does_to_the_metrics():
    from motion_mamba.eval.runner import MethodResult
    from motion_mamba.train.model_card import cleanup_effect

    def row(name, r3, fid):
        return MethodResult(name, {"R@3": (r3, 0.01), "FID": (fid, 0.1)})

    splits = {"test:phrasing": {"results": [row("Real", 0.8, 0.0), row("mm", 0.70, 2.0), row("mm (raw)", 0.72, 1.5)]},
              "test:composition": {"results": [row("Real", 0.9, 0.0), row("mm", 0.85, 1.0), row("mm (raw)", 0.8, 1.2)]}}
    assert cleanup_effect({"splits": splits}) == ('The clean-up changes R@3 -0.020, FID +0.50 on phrasing; R@3 +0.050, '
                                                  'FID -0.20 on composition (each against the "(raw)" row).')
    assert cleanup_effect({"splits": {"test": {"results": [row("Real", 0.8, 0.0), row("mm", 0.7, 1.0)]}}}) == ""


def test_model_card_names_the_text_conditioning(tmp_path):
    """The card says how the denoiser reads the prompt (the test preset keeps 2 segment means beside the pooled
    vector); the rest of the card is filled from the run's numbers."""
    from motion_mamba.model.checkpoint import save_bundle
    from motion_mamba.model.motion_model import MotionModel
    from motion_mamba.model.presets import get_preset
    from motion_mamba.train.model_card import write_model_card

    bundle = save_bundle(tmp_path / "model", MotionModel(get_preset("test")))
    stages = {"vae": {"steps": 4, "steps_per_s": 2.0, "minutes": 0.1}, "wall": {"minutes": 0.5}}
    evaluation = {"settings": {"repeats": 1, "mm_samples": 2, "mm_repeats": 2}, "evaluator": "ours", "splits": {}}
    card = write_model_card(tmp_path, bundle, tmp_path, stages, evaluation, 10, True, "motion-mamba train shipped")
    text = card.read_text()
    assert "read as its pooled vector plus 2 segment means (word order)" in text
    assert "| vae | 4 | 2.0 | 0.1 |" in text and "Total: 0.5 minutes" in text
    assert "classifier-free guidance 7.5." in text  # no guidance stage: the default, nothing claimed


def test_model_card_says_how_the_guidance_was_chosen(tmp_path):
    from motion_mamba.model.checkpoint import save_bundle, set_guidance_scale
    from motion_mamba.model.motion_model import MotionModel
    from motion_mamba.model.presets import get_preset
    from motion_mamba.train.model_card import write_model_card

    bundle = save_bundle(tmp_path / "model", MotionModel(get_preset("test")))
    set_guidance_scale(bundle, 5.0)
    chosen = {"scale": 5.0, "R@3": {"3": 0.61, "5": 0.662}, "clips": 256, "repeats": 3}
    stages = {"guidance": {"denoiser": chosen, "baseline": {**chosen, "scale": 3.0}, "minutes": 6.0},
              "wall": {"minutes": 0.5}}
    evaluation = {"settings": {"repeats": 1, "mm_samples": 2, "mm_repeats": 2}, "evaluator": "ours", "splits": {}}
    text = write_model_card(tmp_path, bundle, tmp_path, stages, evaluation, 10, True, "cmd").read_text()
    assert ("classifier-free guidance 5, the best R@3 on the val split (256 clips, 3 repetitions; s: R@3 3 0.610, "
            "5 0.662); the baseline's, chosen the same way: 3.") in text
