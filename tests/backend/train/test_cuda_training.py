"""Training on CUDA with bf16 autocast (the default there): both stages run, resume and write bundles that load
and generate on the CPU; torchrun on the NCCL backend. Skipped without CUDA (CI); run on a GPU machine."""

import json
import math
import subprocess
import sys

import pytest
import torch
from train_fixtures import write_tiny_corpus

from motion_mamba.cli import main
from motion_mamba.model.checkpoint import load_bundle
from motion_mamba.pipeline import MotionPipeline
from motion_mamba.train.checkpointing import load_checkpoint

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_tiny_corpus(tmp_path_factory.mktemp("corpus"))


def _train(capsys, *argv) -> dict:
    assert main(["train", *argv, "--device", "cuda", "--no-progress"]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.mark.parametrize("arch", ["mamba", "transformer"])
def test_both_stages_on_cuda_with_amp_resume_and_load_on_cpu(corpus, tmp_path, capsys, arch):
    run = tmp_path / "run"
    _train(capsys, "vae", "--preset", "test", "--data", str(corpus), "--out", str(run), "--steps", "3")
    out = _train(capsys, "vae", "--preset", "test", "--data", str(corpus), "--out", str(run), "--steps", "6")
    assert out["step"] == 6  # resumed, not restarted
    out = _train(capsys, "denoiser", "--arch", arch, "--data", str(corpus), "--out", str(run), "--steps", "4")
    assert out["state"] == "finished"
    stage = run / ("denoiser" if arch == "mamba" else "denoiser-transformer")
    logs = [json.loads(x) for x in (stage / "log.jsonl").read_text().splitlines()]
    assert [x["step"] for x in logs][-1] == 4 and all(math.isfinite(x["loss"]) for x in logs if "loss" in x)
    tensors, _ = load_checkpoint(stage / "checkpoints" / "step_00000004")
    assert all(torch.isfinite(t).all() for t in tensors["model"].values())
    _, doc = load_bundle(out["bundle"])
    assert doc["config"]["denoiser"]["arch"] == arch
    [motion] = MotionPipeline.from_pretrained(out["bundle"])(["a person walks forward slowly"], [2.0], [0], steps=2)
    assert motion.joints.shape == (40, 22, 3)


def test_torchrun_on_nccl(tmp_path):
    data = write_tiny_corpus(tmp_path / "data", n_train=16, n_val=4, n_test=0)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "1", "-m",
           "motion_mamba", "train", "vae", "--preset", "test", "--data", str(data), "--out", str(tmp_path / "run"),
           "--steps", "2", "--batch-size", "4", "--device", "cuda", "--no-progress"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    _, meta = load_checkpoint(tmp_path / "run" / "vae" / "checkpoints" / "step_00000002")
    assert meta["world_size"] == 1
    load_bundle(tmp_path / "run" / "vae" / "model")
