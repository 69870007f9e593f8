"""`motion-mamba train` on the tiny preset: both stages write checkpoints and bundles that load, a rerun resumes,
and the denoiser trains on the frozen VAE."""

import json

import pytest
import torch
from train_fixtures import write_tiny_corpus

from motion_mamba.cli import main
from motion_mamba.model.checkpoint import load_bundle
from motion_mamba.model.text import build_text_encoder
from motion_mamba.pipeline import MotionPipeline
from motion_mamba.train.checkpointing import load_checkpoint


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_tiny_corpus(tmp_path_factory.mktemp("corpus"))


def _train(capsys, *argv) -> dict:
    assert main(["train", *argv, "--no-progress"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_two_stages_resume_and_load(corpus, tmp_path, capsys):
    run = tmp_path / "run"
    out = _train(capsys, "vae", "--preset", "test", "--data", str(corpus), "--out", str(run), "--steps", "2")
    assert out["state"] == "finished" and out["step"] == 2
    # extend the run: the rerun resumes at step 2 instead of starting over
    out = _train(capsys, "vae", "--preset", "test", "--data", str(corpus), "--out", str(run), "--steps", "4")
    assert out["step"] == 4
    lines = [json.loads(x) for x in (run / "vae" / "log.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [1, 2, 3, 4]
    _, meta = load_checkpoint(run / "vae" / "checkpoints" / "step_00000004")
    assert meta["run"]["preset"] == "test" and meta["ema_updates"] == 4
    vae, doc = load_bundle(run / "vae" / "model")
    assert doc["metadata"]["steps"] == 4 and doc["metadata"]["weights"] == "EMA"
    assert float(vae.latent_std.min()) > 0 and not torch.allclose(vae.latent_std, torch.ones_like(vae.latent_std))

    out = _train(capsys, "denoiser", "--data", str(corpus), "--out", str(run))
    assert out["state"] == "finished"
    final, doc = load_bundle(run / "model")
    assert doc["preset"] == "test" and doc["metadata"]["run"]["stage"] == "denoiser"
    for k, v in vae.vae.state_dict().items():  # stage 2 leaves the VAE untouched
        assert torch.equal(final.vae.state_dict()[k], v), k
    [motion] = MotionPipeline.from_pretrained(run / "model")(["a person walks forward slowly"], [2.0], [0], steps=2)
    assert motion.joints.shape == (40, 22, 3)


def test_transformer_baseline_uses_the_same_vae(corpus, tmp_path, capsys):
    run = tmp_path / "run"
    _train(capsys, "vae", "--preset", "test", "--data", str(corpus), "--out", str(run), "--steps", "1")
    out = _train(capsys, "denoiser", "--arch", "transformer", "--data", str(corpus), "--out", str(run),
                 "--steps", "1")
    model, doc = load_bundle(out["bundle"])
    assert doc["config"]["denoiser"]["arch"] == "transformer"
    vae, _ = load_bundle(run / "vae" / "model")
    assert all(torch.equal(model.vae.state_dict()[k], v) for k, v in vae.vae.state_dict().items())


def test_clear_errors(corpus, tmp_path, capsys):
    assert main(["train", "denoiser", "--data", str(corpus), "--out", str(tmp_path / "nope")]) == 2
    assert "no VAE bundle" in capsys.readouterr().err
    assert main(["train", "vae", "--preset", "test", "--data", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    assert "new_joint_vecs: folder missing" in capsys.readouterr().err


def test_text_segments_override_the_vae_bundles_and_the_baseline_follows(corpus, tmp_path, capsys):
    run = tmp_path / "run"
    _train(capsys, "vae", "--preset", "test", "--data", str(corpus), "--out", str(run), "--steps", "1")
    assert load_bundle(run / "vae" / "model")[1]["config"]["denoiser"]["text_segments"] == 2  # the test preset's
    common = ("--data", str(corpus), "--out", str(run), "--steps", "1", "--text-segments", "1")
    mamba = load_bundle(_train(capsys, "denoiser", *common)["bundle"])
    baseline = load_bundle(_train(capsys, "denoiser", "--arch", "transformer", *common)["bundle"])
    for model, doc in (mamba, baseline):
        assert doc["config"]["denoiser"]["text_segments"] == 1 and model.denoiser.pos.shape[0] == 1 + 2 + 2
    n_mamba, n_base = (sum(p.numel() for p in m.denoiser.parameters()) for m, _ in (mamba, baseline))
    assert abs(n_base - n_mamba) <= 0.01 * n_mamba  # the A/B keeps its equal parameter budget
    [motion] = MotionPipeline(mamba[0], build_text_encoder(mamba[0].config.text), "k1")(["a person waves"], [1.0], [0],
                                                                                        steps=2)
    assert motion.joints.shape == (20, 22, 3)
    assert main(["train", "denoiser", *common[:-1], "-1"]) == 2
    assert "text_segments must be >= 0" in capsys.readouterr().err
