"""Optimisation settings of one training stage, saved with every checkpoint so a run resumes as it started."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

Schedule = Literal["cosine", "constant"]


@dataclass
class TrainConfig:
    steps: int = 100_000  # optimizer steps in total
    batch_size: int = 64  # per process; the global batch is batch_size * world size
    lr: float = 1e-4  # paper / MLD: AdamW 1e-4
    weight_decay: float = 0.0
    beta1: float = 0.9
    beta2: float = 0.999
    schedule: Schedule = "cosine"
    warmup_steps: int = 0  # linear warm-up from 0 before the schedule
    min_lr_ratio: float = 0.1  # cosine decays to lr * min_lr_ratio at the last step
    grad_clip: float = 1.0  # max global grad norm; 0 disables clipping
    ema_decay: float = 0.999
    ckpt_every: int = 1000  # steps between checkpoints (one is always written at the end)
    val_every: int = 1000  # steps between validations on the val split (0: never)
    val_batches: int = 8
    log_every: int = 50
    keep: int = 2  # checkpoints kept on disk; older ones are deleted after a new one is complete
    seed: int = 0
    amp: bool = True  # bf16 autocast on CUDA; ignored on CPU
    max_seconds: float = 0.0  # wall-clock budget for this invocation (0: none); a checkpoint is written on stop

    def validate(self) -> "TrainConfig":
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError(f"steps and batch_size must be >= 1, got {self.steps} and {self.batch_size}")
        if self.schedule not in ("cosine", "constant"):
            raise ValueError(f"schedule must be 'cosine' or 'constant', got {self.schedule!r}")
        if not 0 <= self.ema_decay < 1:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if self.lr <= 0 or self.ckpt_every < 1:
            raise ValueError(f"lr must be > 0 and ckpt_every >= 1, got {self.lr} and {self.ckpt_every}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"train config: unknown keys {unknown}")
        return cls(**data).validate()


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Learning rate for optimizer step `step` (0-based)."""
    # 1) linear warm-up
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if cfg.schedule == "constant":
        return cfg.lr
    # 2) cosine decay from lr to lr * min_lr_ratio over the remaining steps
    span = max(1, cfg.steps - cfg.warmup_steps - 1)
    progress = min(1.0, (step - cfg.warmup_steps) / span)
    coeff = 0.5 * (1.0 + math.cos(math.pi * progress))
    return cfg.lr * (cfg.min_lr_ratio + (1.0 - cfg.min_lr_ratio) * coeff)
