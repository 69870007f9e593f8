"""`motion-mamba eval` prints Table 1 (real data first) with CIs, and `motion-mamba generate` writes motion files."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
from train_fixtures import write_tiny_corpus  # noqa: E402

from motion_mamba.cli import main  # noqa: E402
from motion_mamba.motion_io import load_motion  # noqa: E402


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("evalrun")
    data, run = write_tiny_corpus(root / "data", n_train=16, n_val=4, n_test=32), root / "run"
    for argv in (["vae", "--preset", "test", "--steps", "1"], ["denoiser", "--steps", "1"],
                 ["evaluator", "--preset", "test", "--steps", "2"]):
        assert main(["train", *argv, "--data", str(data), "--out", str(run), "--no-progress"]) == 0
    return data, run


def test_eval_table_real_first_with_intervals(trained, tmp_path, capsys):
    data, run = trained
    out_json = tmp_path / "eval.json"
    argv = ["eval", str(run), "--data", str(data), "--repeats", "2", "--mm-samples", "2", "--mm-repeats", "2",
            "--timing-sentences", "1", "--steps", "1", "--json", str(out_json), "--markdown", str(tmp_path / "t.md"),
            "--with-recon", "--no-progress"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    rows = [line for line in text.splitlines() if line.startswith("| ") and "Method" not in line]
    assert rows[0].startswith("| Real |") and rows[1].startswith("| motion-mamba-test |")
    assert rows[2].startswith("| motion-mamba-test VAE reconstruction (raw) |")
    doc = json.loads(out_json.read_text())
    real, model, recon = doc["splits"]["test"]["results"]
    assert "MModality" not in recon["metrics"] and recon["seconds_per_sentence"] is None
    assert len(recon["repetitions"]) == 2 and "skate_speed_cm_s" in recon["physical"]
    assert doc["splits"]["test"]["clips"] == 32 and len(model["repetitions"]) == 2
    for res in (real, model):
        for k in ("R@1", "R@2", "R@3"):
            assert 0.0 <= res["metrics"][k]["mean"] <= 1.0
        reps = [r["FID"] for r in res["repetitions"]]
        assert res["metrics"]["FID"]["ci95"] == pytest.approx(1.96 * np.std(reps) / np.sqrt(2))
    assert "MModality" not in real["metrics"] and "MModality" in model["metrics"]
    assert model["seconds_per_sentence"] > 0 and "skate_speed_cm_s" in model["physical"]
    assert "| Real |" in (tmp_path / "t.md").read_text()


def test_eval_needs_an_evaluator(trained, tmp_path, capsys, monkeypatch):
    import motion_mamba.pipeline

    data, run = trained
    monkeypatch.setattr(motion_mamba.pipeline, "DEFAULT_MODEL_DIR", tmp_path / "no-shipped" / "model")
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    (lonely / "model").symlink_to(run / "model")
    assert main(["eval", str(lonely / "model"), "--data", str(data), "--repeats", "1", "--no-progress"]) == 2
    assert "no evaluator found" in capsys.readouterr().err


def test_generate_writes_npz_and_bvh(tmp_path, capsys):
    out = tmp_path / "walk.npz"
    assert main(["generate", "a person walks forward", "--preset", "test", "--seconds", "3", "--seed", "5",
                 "--samples", "2", "--steps", "2", "-o", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["outputs"] == [str(tmp_path / "walk_0.npz"), str(tmp_path / "walk_1.npz")]
    m = load_motion(tmp_path / "walk_1.npz")
    assert m.joints.shape == (60, 22, 3) and m.fps == 20.0 and m.seed == 6 and m.text == "a person walks forward"
    assert m.rotations.shape == (60, 22, 4) and m.root_translation.shape == (60, 3)
    assert main(["generate", "a person jumps", "--preset", "test", "--steps", "2", "-o", str(tmp_path / "j.bvh")]) == 0
    assert (tmp_path / "j.bvh").read_text().startswith("HIERARCHY")
    assert main(["generate", "x", "--preset", "test", "-o", str(tmp_path / "x.txt")]) == 2
    assert "must end in .npz or .bvh" in capsys.readouterr().err
    for flags, parts in (([], ["a person walks", "a person waves"]), (["--one-pass"], None)):
        assert main(["generate", "a person walks, then waves", "--preset", "test", "--steps", "2", *flags, "-o",
                     str(tmp_path / "s.npz")]) == 0
        extras = load_motion(tmp_path / "s.npz").extras
        assert (list(extras["segment_prompts"]) if "segment_prompts" in extras else None) == parts


def test_generate_a_timeline_of_segments(tmp_path, capsys):
    out = tmp_path / "walk_sit.npz"
    assert main(["generate", "--segment", "a person walks=2", "--segment", "a person sits = down=1.5", "--preset",
                 "test", "--steps", "2", "--seed", "3", "-o", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["frames"] == 70 and summary["prompt"] == "a person walks / a person sits = down"
    m = load_motion(out)
    assert m.joints.shape == (70, 22, 3) and m.seed == 3 and list(m.extras["segment_frames"]) == [40, 30]
    for args, message in [(["--segment", "a person walks"], "expected PROMPT=SECONDS"),
                          (["--segment", "=2"], "the prompt before '=' is empty"),
                          (["--segment", "walk=inf"], "must be a number, got 'inf'"),
                          (["--segment", "walk=2", "--segment", "sit=0.5"], "segments[1]: seconds = 0.5 is outside"),
                          (["walk", "--segment", "walk=2"], "not both"),
                          ([], "give a PROMPT, or a timeline")]:
        assert main(["generate", *args, "--preset", "test", "-o", str(tmp_path / "x.npz")]) == 2
        assert message in capsys.readouterr().err


def test_guidance_is_chosen_on_a_split_and_written_into_the_bundle(trained, tmp_path):
    """The recipe's guidance search: every scale of the grid is evaluated on the same draws, the best R@3 is written
    into a copy of the bundle (weights untouched), and the pipeline then samples with it by default."""
    import shutil

    from motion_mamba.eval.runner import EvalSettings
    from motion_mamba.eval.t2m_official import load_evaluator
    from motion_mamba.model.checkpoint import load_bundle, read_bundle_config, set_guidance_scale
    from motion_mamba.pipeline import MotionPipeline
    from motion_mamba.train.data import load_split
    from motion_mamba.train.guidance import choose_guidance

    data, run = trained
    bundle = shutil.copytree(run / "model", tmp_path / "model")
    before = read_bundle_config(bundle)
    clips = load_split(data, "test").clips
    chosen = choose_guidance(bundle, load_evaluator(run / "evaluator"), clips, EvalSettings(repeats=1),
                             grid=(1.0, 7.5))
    r3 = chosen["R@3"]
    assert set(r3) == {"1", "7.5"} and chosen["scale"] in (1.0, 7.5)
    assert r3[f"{chosen['scale']:g}"] == max(r3.values()) and chosen["clips"] == len(clips) == 32
    after = read_bundle_config(bundle)
    assert after["config"]["diffusion"]["guidance_scale"] == chosen["scale"]
    assert after["metadata"]["guidance"]["R@3"] == r3 and after["weights_sha256"] == before["weights_sha256"]
    assert MotionPipeline.from_pretrained(bundle).config.diffusion.guidance_scale == chosen["scale"]
    load_bundle(bundle)  # still a valid bundle
    with pytest.raises(ValueError, match="guidance"):
        set_guidance_scale(bundle, float("nan"))


def test_with_init_and_raw_adds_the_raw_output_at_initialisation(trained):
    """The FID bar's reference (train/model_card.acceptance): the same model's raw output at initialisation."""
    import argparse

    from motion_mamba.cli.eval import load_methods

    _, run = trained
    ns = argparse.Namespace(device="cpu", guidance=None, steps=None, solver="dpm++", with_init=True, with_raw=True,
                            with_recon=False)
    methods, _ = load_methods([run], ns)
    name = methods[0].name
    assert [(m.name, m.cleanup) for m in methods] == [
        (name, True), (f"{name} (raw)", False), (f"{name} @ init", True), (f"{name} @ init (raw)", False)]
    assert methods[3].pipe is methods[2].pipe and methods[2].pipe is not methods[0].pipe


def test_evaluation_generates_sequenced_captions_as_the_pipeline_does(trained):
    """BundleGenerator splits a sequenced caption like the pipeline (same parts, seeds and stitch), so the tables
    measure what users get; split=False is the one-pass row."""
    from motion_mamba.eval.runner import BundleGenerator
    from motion_mamba.features import joints_to_features
    from motion_mamba.pipeline import MotionPipeline
    from motion_mamba.skeleton import SMPL22

    _, run = trained
    pipe = MotionPipeline.from_pretrained(run / "model")
    caption = "a person kicks, then bows"
    split, whole = (BundleGenerator(pipe, cleanup=False, steps=3, split=s)([caption, "a person kicks"], [60, 40],
                                                                           [3, 4]) for s in (True, False))
    assert [len(f) for f in split] == [60, 40] and np.allclose(split[1], whole[1], atol=1e-4)  # batches differ
    assert not np.allclose(split[0], whole[0])
    [m] = pipe([caption], [3.0], [3], steps=3, cleanup=False)
    joints = np.concatenate([m.joints, m.joints[-1:]]).astype(np.float64) * SMPL22.unit_scale
    np.testing.assert_allclose(split[0], joints_to_features(joints, SMPL22), atol=1e-3)


def test_a_raw_row_reuses_its_cleaned_rows_samples(trained, monkeypatch):
    """The raw rows are the cleaned rows' samples before the clean-up (the same captions, lengths and seeds), so
    `load_methods` lets them share a SampleCache: one sampling for both, the same numbers as sampling again."""
    import argparse

    from motion_mamba.cli.eval import load_methods
    from motion_mamba.eval.runner import BundleGenerator, EvalSettings, time_per_sentence

    _, run = trained
    ns = argparse.Namespace(device="cpu", guidance=None, steps=2, solver="dpm++", with_init=False, with_raw=True,
                            with_recon=False)
    (cleaned, raw), _ = load_methods([run], ns)
    sampled = []
    decoded = BundleGenerator._decoded
    monkeypatch.setattr(BundleGenerator, "_decoded", lambda self, jobs: sampled.append(jobs) or decoded(self, jobs))
    args = (["a person kicks, then bows", "a person waves"], [60, 40], [3, 4])
    cleaned(*args)
    shared = raw(*args)
    assert len(sampled) == 1
    alone = BundleGenerator(raw.pipe, cleanup=False, steps=2)(*args)
    assert len(sampled) == 2 and all(np.array_equal(a, b) for a, b in zip(shared, alone))
    assert not np.allclose(cleaned(*args)[1], shared[1], atol=1e-3)  # the clean-up did change the cleaned row
    clips = [type("Clip", (), {"captions": ["a person waves"], "features": np.zeros((40, 263))})()]
    time_per_sentence(raw, clips, EvalSettings(timing_sentences=1))
    assert len(sampled) == 4  # timing samples every call: warm-up + 1, never from the cache
