"""The paper's two training stages plus the evaluator, each a `Task` for `loop.train` and a function that runs it
and exports the result as a bundle.

1. `vae`: MLD's motion VAE on normalised features (SmoothL1 features + joints + KL, `model.vae.vae_loss`).
2. `denoiser`: the latent denoiser on the *frozen* VAE's latents (ε-prediction MSE, text dropped with p = 0.1 for
   classifier-free guidance, `diffusion.LatentDiffusion.training_loss`). The VAE never changes in this stage, so
   each training clip is encoded once up front (mean of q(z|x), standardised) instead of at every step.
3. `evaluator`: the contrastive text-motion evaluator (`eval.evaluator`).

Data items are (features (T, F) in dataset units, captions) pairs from a `train.data.ClipSet`; each step picks one
caption per clip with its `StepRandom`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from .config import TrainConfig
from .distributed import DistInfo
from .data import pick_caption
from .loop import StepRandom, Task, TrainResult, train
from .text_cache import TextCache

Pair = tuple[np.ndarray, Sequence[str]]  # a clip and all its captions


def crop_clip(features: np.ndarray, max_frames: int, rng: np.random.Generator) -> np.ndarray:
    """A random window of at most max_frames rows (MLD trains on random crops of longer clips)."""
    n = len(features)
    if n <= max_frames:
        return features
    start = int(rng.integers(0, n - max_frames + 1))
    return features[start:start + max_frames]


def pad_batch(clips: Sequence[np.ndarray], device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """List of (T_i, F) -> zero-padded (B, max T, F) float32 and lengths (B,)."""
    lengths = torch.tensor([len(c) for c in clips], device=device)
    x = torch.zeros(len(clips), int(lengths.max()), clips[0].shape[-1], device=device)
    for i, c in enumerate(clips):
        x[i, : len(c)] = torch.as_tensor(c, dtype=torch.float32)
    return x, lengths


# ----------------------------------------------------------------------------------------------------------------
# stage 1: VAE


class VAEObjective(nn.Module):
    def __init__(self, model: "MotionModel"):  # noqa: F821
        super().__init__()
        self.vae = model.vae
        self.model = [model]  # a list hides the parent from state_dict(): only the VAE is trained and saved

    def forward(self, batch: tuple[torch.Tensor, torch.Tensor, torch.Generator]
                ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        from ..model.vae import vae_loss

        x, lengths, generator = batch
        m = self.model[0]
        losses = vae_loss(self.vae, x, lengths, m.feature_mean, m.feature_std, m.config.skeleton, generator)
        return losses["total"], {k: v.detach() for k, v in losses.items() if k != "total"}


class VAETask(Task):
    def __init__(self, model: "MotionModel"):  # noqa: F821
        self.model = model
        self.module = VAEObjective(model)

    def collate(self, items: list[Pair], rand: StepRandom) -> list[np.ndarray]:
        return [crop_clip(np.asarray(f, np.float32), self.model.config.vae.max_frames, rand.numpy) for f, _ in items]

    def prepare(self, clips: list[np.ndarray], device: str, rand: StepRandom
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Generator]:
        x, lengths = pad_batch(clips, device)
        mask = (torch.arange(x.shape[1], device=device)[None, :] < lengths[:, None])[..., None]
        return self.model.normalize_features(x) * mask, lengths, rand.torch


# ----------------------------------------------------------------------------------------------------------------
# stage 2: denoiser on frozen latents


class DenoiserObjective(nn.Module):
    def __init__(self, model: "MotionModel"):  # noqa: F821
        super().__init__()
        from ..diffusion import LatentDiffusion

        self.denoiser = model.denoiser
        self.diffusion = LatentDiffusion(model.config.diffusion)

    def forward(self, batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Generator]
                ) -> tuple[torch.Tensor, dict]:
        z0, text, null_text, generator = batch
        return self.diffusion.training_loss(self.denoiser, z0, text, null_text, generator), {}


class DenoiserTask(Task):
    """Items are (standardised latent (k, d), captions); `prepare` adds the frozen text encoder's embeddings."""

    def __init__(self, model: "MotionModel", text: TextCache):  # noqa: F821
        if text.segments != model.config.denoiser.text_segments:
            raise ValueError(f"the text cache keeps {text.segments} segments per caption, the denoiser reads "
                             f"{model.config.denoiser.text_segments}")
        self.model = model
        self.text = text
        self.module = DenoiserObjective(model)

    def collate(self, items: list[tuple[torch.Tensor, Sequence[str]]], rand: StepRandom
                ) -> tuple[torch.Tensor, list[str]]:
        return torch.stack([z for z, _ in items]), [pick_caption(c, rand.numpy) for _, c in items]

    def prepare(self, batch: tuple[torch.Tensor, list[str]], device: str, rand: StepRandom
                ) -> tuple[torch.Tensor, ...]:
        z0, captions = batch
        emb = self.text.condition(list(captions) + [""]).to(device)  # "" is the unconditional prompt
        return z0.to(device), emb[:-1], emb[-1], rand.torch


class LatentSet:
    """(standardised latent (k, d), all its captions) items, like `data.ClipSet`'s."""

    def __init__(self, latents: torch.Tensor, captions: list[list[str]]):
        self.latents = latents
        self.captions = captions

    def __len__(self) -> int:
        return len(self.captions)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, list[str]]:
        return self.latents[i], self.captions[i]


@torch.no_grad()
def encode_latents(model: "MotionModel", pairs: Sequence[Pair], device: str, batch_size: int = 64,  # noqa: F821
                   ) -> LatentSet:
    """Each clip's standardised latent mean (of its first max_frames rows), with all its captions."""
    model.eval()
    items = [pairs[i] for i in range(len(pairs))]
    latents = []
    for i in range(0, len(items), batch_size):
        clips = [np.asarray(f, np.float32)[: model.config.vae.max_frames] for f, _ in items[i:i + batch_size]]
        x, lengths = pad_batch(clips, device)
        mask = (torch.arange(x.shape[1], device=device)[None, :] < lengths[:, None])[..., None]
        latents.append(model.encode_latent(model.normalize_features(x) * mask, lengths).cpu())  # (B, k, d)
    return LatentSet(torch.cat(latents), [list(c) for _, c in items])


@torch.no_grad()
def fit_latent_statistics(model: "MotionModel", pairs: Sequence[Pair], device: str) -> None:  # noqa: F821
    """latent_mean/std from the training clips' μ, so the diffusion sees unit-variance latents."""
    model.set_statistics(latent_mean=np.zeros_like(model.latent_mean.cpu()),
                         latent_std=np.ones_like(model.latent_std.cpu()))
    model.fit_latent_statistics(encode_latents(model, pairs, device).latents)


# ----------------------------------------------------------------------------------------------------------------
# stage runners: train, then export the EMA weights as a bundle


def run_vae(model: "MotionModel", train_pairs: "ClipSet", val_pairs: Sequence[Pair] | None,  # noqa: F821
            cfg: TrainConfig, run_dir: Path, run_meta: dict[str, Any], info: DistInfo,
            progress: bool = True, stop: Callable[[], bool] | None = None) -> tuple[TrainResult, Path | None]:
    """`stop`: see `loop.train`."""
    from ..model.checkpoint import save_bundle

    model.to(info.device)
    model.set_statistics(feature_mean=train_pairs.mean, feature_std=np.maximum(train_pairs.std, 1e-6))
    task = VAETask(model)
    result = train(task, train_pairs, val_pairs, cfg, run_dir, run_meta, info, progress, stop)
    bundle = None
    if result.finished and info.is_main:
        _load_ema(task.module, result.checkpoint)
        fit_latent_statistics(model, train_pairs, info.device)
        bundle = save_bundle(Path(run_dir) / "model", model.cpu(), _bundle_meta(run_meta, cfg, result))
    return result, bundle


def run_denoiser(model: "MotionModel", train_pairs: Sequence[Pair], val_pairs: Sequence[Pair] | None,  # noqa: F821
                 cfg: TrainConfig, run_dir: Path, run_meta: dict[str, Any], info: DistInfo,
                 progress: bool = True, text: TextCache | None = None) -> tuple[TrainResult, Path | None]:
    """`model` carries the trained VAE and its statistics (from the VAE stage's bundle); the VAE stays frozen.
    `text`: a caption-embedding cache to share between stages that use the same text encoder."""
    from ..model.checkpoint import save_bundle
    from ..model.text import build_text_encoder

    model.to(info.device)
    model.vae.requires_grad_(False).eval()
    text = text or TextCache(build_text_encoder(model.config.text, info.device), model.config.denoiser.text_segments)
    train_lat = encode_latents(model, train_pairs, info.device)
    val_lat = encode_latents(model, val_pairs, info.device) if val_pairs else None
    task = DenoiserTask(model, text)
    result = train(task, train_lat, val_lat, cfg, run_dir, run_meta, info, progress)
    bundle = None
    if result.finished and info.is_main:
        _load_ema(task.module, result.checkpoint)
        bundle = save_bundle(Path(run_dir) / "model", model.cpu(), _bundle_meta(run_meta, cfg, result))
    return result, bundle


def run_evaluator(config: "EvaluatorConfig", train_pairs: "ClipSet", val_pairs: Sequence[Pair] | None,  # noqa: F821
                  cfg: TrainConfig, run_dir: Path, run_meta: dict[str, Any], info: DistInfo,
                  progress: bool = True, text: TextCache | None = None) -> tuple[TrainResult, Path | None]:
    from ..eval.evaluator import EvaluatorTask, TextMotionEvaluator, evaluator_statistics

    mean, std = evaluator_statistics(train_pairs.mean, train_pairs.std, config.skeleton)
    evaluator = TextMotionEvaluator(config, mean, std, info.device, text=text)
    task = EvaluatorTask(evaluator)
    result = train(task, train_pairs, val_pairs, cfg, run_dir, run_meta, info, progress)
    bundle = None
    if result.finished and info.is_main:
        _load_ema(task.module, result.checkpoint)
        bundle = Path(run_dir) / "evaluator"
        evaluator.save(bundle, {"training": _bundle_meta(run_meta, cfg, result)})
    return result, bundle


def _load_ema(module: nn.Module, checkpoint: Path) -> None:
    from .checkpointing import load_checkpoint

    tensors, _ = load_checkpoint(checkpoint)
    module.load_state_dict({**module.state_dict(), **tensors["ema"]})


def _bundle_meta(run_meta: dict[str, Any], cfg: TrainConfig, result: TrainResult) -> dict[str, Any]:
    return {"run": run_meta, "train": dataclasses.asdict(cfg), "steps": result.step, "final_loss": result.loss,
            "val_loss": result.val_loss, "weights": "EMA"}
