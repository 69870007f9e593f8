"""Default optimisation settings per (preset, stage), and the evaluator size per preset.

paper: MLD's settings (AdamW 1e-4; VAE batch 128, denoiser batch 64) and T2M's evaluator sizes; steps are a
budget, not the paper's 2,000 epochs. demo: sized so the whole shipped recipe fits 2 CPU cores in 90 minutes
(the step counts are set from the measured speeds, see docs/training.md). test: a few steps, for the test suite.
Every value can be overridden on the command line.
"""

from __future__ import annotations

import dataclasses

from ..eval.evaluator import EvaluatorConfig
from .config import TrainConfig

STAGES = ("vae", "denoiser", "evaluator")

_RECIPES: dict[str, dict[str, TrainConfig]] = {
    "paper": {
        "vae": TrainConfig(steps=300_000, batch_size=128, lr=1e-4, schedule="constant", ckpt_every=5000,
                           val_every=5000),
        "denoiser": TrainConfig(steps=300_000, batch_size=64, lr=1e-4, schedule="constant", ckpt_every=5000,
                                val_every=5000),
        "evaluator": TrainConfig(steps=50_000, batch_size=32, lr=1e-4, schedule="constant", ema_decay=0.0,
                                 ckpt_every=5000, val_every=5000),
    },
    "demo": {
        "vae": TrainConfig(steps=6000, batch_size=32, lr=1e-3, warmup_steps=100, ema_decay=0.995, ckpt_every=250,
                           val_every=500, log_every=25),
        "denoiser": TrainConfig(steps=12000, batch_size=128, lr=1e-3, warmup_steps=100, ema_decay=0.999,
                                ckpt_every=500, val_every=1000, log_every=50),
        "evaluator": TrainConfig(steps=1500, batch_size=64, lr=1e-3, warmup_steps=50, ema_decay=0.0, ckpt_every=250,
                                 val_every=500, log_every=25),
    },
    "test": {
        stage: TrainConfig(steps=4, batch_size=8, lr=1e-3, ckpt_every=2, val_every=2, val_batches=1, log_every=1,
                           ema_decay=0.9)
        for stage in STAGES
    },
}

_EVALUATORS = {
    "paper": EvaluatorConfig(),  # T2M sizes
    "demo": EvaluatorConfig(movement_dim=256, motion_hidden=256, text_hidden=256, embed_dim=256),
    "test": EvaluatorConfig(text_encoder="tiny", text_dim=32, movement_dim=16, motion_hidden=16, text_hidden=16,
                            embed_dim=16, dropout=0.0),
}


def train_config(preset: str, stage: str, **overrides) -> TrainConfig:
    """The recipe's TrainConfig with the non-None overrides applied."""
    key = preset if preset in _RECIPES else "paper"  # paper-literal trains like paper
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES}, got {stage!r}")
    return dataclasses.replace(_RECIPES[key][stage], **{k: v for k, v in overrides.items() if v is not None}).validate()


def evaluator_config(preset: str, skeleton: str = "smpl22", nfeats: int = 263) -> EvaluatorConfig:
    key = preset if preset in _EVALUATORS else "paper"
    return dataclasses.replace(_EVALUATORS[key], skeleton=skeleton, nfeats=nfeats)
