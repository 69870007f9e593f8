"""Two CPU processes on the gloo backend train exactly like one process with the same global batch."""

import socket

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
