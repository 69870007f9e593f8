"""`motion-mamba eval --device cuda` (evaluator trained on CUDA too) gives the CPU's table: same clips, same seeds.
Skipped without CUDA (CI); run on a GPU machine."""

import json
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
from train_fixtures import write_tiny_corpus  # noqa: E402

from motion_mamba.cli import main  # noqa: E402

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def test_eval_on_cuda_matches_cpu(tmp_path, capsys):
    data, run = write_tiny_corpus(tmp_path / "data", n_train=16, n_val=4, n_test=32), tmp_path / "run"
    for argv in (["vae", "--preset", "test", "--steps", "2"], ["denoiser", "--steps", "2"],
                 ["evaluator", "--preset", "test", "--steps", "4"]):
        assert main(["train", *argv, "--data", str(data), "--out", str(run), "--device", "cuda", "--no-progress"]) == 0
    tables = {}
    for device in ("cpu", "cuda"):
        out = tmp_path / f"{device}.json"
        assert main(["eval", str(run), "--data", str(data), "--repeats", "2", "--mm-samples", "0",
                     "--timing-sentences", "1", "--steps", "2", "--device", device, "--json", str(out),
                     "--no-progress"]) == 0
        tables[device] = json.loads(out.read_text())["splits"]["test"]["results"]
    capsys.readouterr()
    for cpu, gpu in zip(tables["cpu"], tables["cuda"]):
        for k in ("R@1", "R@3", "FID", "MM-Dist", "Diversity"):
            a, b = cpu["metrics"][k]["mean"], gpu["metrics"][k]["mean"]
            assert b == pytest.approx(a, rel=0.02, abs=0.02), f"{cpu['method']} {k}: cpu {a}, cuda {b}"
