"""Two CPU processes on the gloo backend train exactly like one process with the same global batch."""

import socket
import subprocess
import sys
from pathlib import Path

import torch
import torch.multiprocessing as mp
from train_toy import ToyTask, ddp_worker, toy_data

from motion_mamba.train.checkpointing import load_checkpoint
from motion_mamba.train.config import TrainConfig
from motion_mamba.train.loop import train


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_two_gloo_processes_match_single_process(tmp_path):
    cfg = dict(steps=4, batch_size=4, lr=1e-2, ckpt_every=2, val_every=2, val_batches=1, log_every=1)
    mp.spawn(ddp_worker, args=(2, _free_port(), str(tmp_path / "ddp"), cfg), nprocs=2, join=True)
    single = ToyTask(noise=0.0)
    data = toy_data()
    train(single, data, data[:16], TrainConfig(**{**cfg, "batch_size": 8}), tmp_path / "one", {"stage": "toy"},
          progress=False)
    tensors, meta = load_checkpoint(tmp_path / "ddp" / "checkpoints" / "step_00000004")
    assert meta["world_size"] == 2
    for k, v in single.module.state_dict().items():
        torch.testing.assert_close(tensors["model"][k], v, rtol=1e-5, atol=1e-6, msg=k)


def test_torchrun_cli_two_gloo_processes(tmp_path):
    """The real command under torchrun: rank 0 writes one checkpoint stream and a loadable bundle."""
    from train_fixtures import write_tiny_corpus

    from motion_mamba.model.checkpoint import load_bundle

    data = write_tiny_corpus(tmp_path / "data", n_train=16, n_val=4, n_test=0)
    bin_dir = Path(sys.executable).parent
    cmd = [str(bin_dir / "torchrun"), "--standalone", "--nproc_per_node", "2", "--no-python",
           str(bin_dir / "motion-mamba"), "train", "vae", "--preset", "test", "--data", str(data), "--out",
           str(tmp_path / "run"), "--steps", "2", "--batch-size", "4", "--device", "cpu", "--no-progress"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    _, meta = load_checkpoint(tmp_path / "run" / "vae" / "checkpoints" / "step_00000002")
    assert meta["world_size"] == 2
    load_bundle(tmp_path / "run" / "vae" / "model")
