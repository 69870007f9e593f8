"""A tiny regression task for exercising the training machinery without the motion model."""

import torch
from torch import nn

from motion_mamba.train.loop import Task


class ToyModule(nn.Module):
    def __init__(self, dropout: float = 0.0, noise: float = 0.01):
        super().__init__()
        self.noise = noise
        self.net = nn.Sequential(nn.Linear(4, 16), nn.Dropout(dropout), nn.Tanh(), nn.Linear(16, 1))

    def forward(self, batch):
        x, y = batch
        loss = ((self.net(x) + self.noise * torch.randn_like(y) - y) ** 2).mean()  # randn: resume must replay it
        return loss, {"mse": loss.detach()}


class ToyTask(Task):
    def __init__(self, dropout: float = 0.0, seed: int = 0, noise: float = 0.01):
        torch.manual_seed(seed)
        self.module = ToyModule(dropout, noise)

    def collate(self, items, rand):
        return torch.stack([i[0] for i in items]), torch.stack([i[1] for i in items])


def toy_data(n: int = 64, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    y = (x @ torch.tensor([[1.0], [-2.0], [0.5], [0.0]])).sin()
    return [(x[i], y[i]) for i in range(n)]


def ddp_worker(rank: int, world: int, port: int, run_dir: str, cfg_dict: dict) -> None:
    """One torchrun-like process on the gloo backend (spawned by the DDP test)."""
    import os

    from motion_mamba.train.config import TrainConfig
    from motion_mamba.train.distributed import init_distributed, shutdown
    from motion_mamba.train.loop import train

    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    info = init_distributed("cpu")
    try:
        data = toy_data()
        train(ToyTask(noise=0.0), data, data[:16], TrainConfig(**cfg_dict), run_dir, {"stage": "toy"}, info,
              progress=False)
    finally:
        shutdown(info)
