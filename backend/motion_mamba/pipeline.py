"""`MotionPipeline`: prompts in, `Motion`s out — text encoding -> latent diffusion -> VAE decode -> joints.

    pipe = MotionPipeline.from_pretrained()            # the shipped model
    [m] = pipe(["a person walks forward"], seconds=[4.0], seeds=[7])
    m.joints  # (80, 22, 3) float32 metres, Y up, facing +Z at frame 0

Each sample's starting noise comes from its own `torch.Generator` seeded with its seed, and both solvers are
deterministic, so a (prompt, seconds, seed) triple gives the same motion whether it is generated alone or in a
batch, every time on the same device. Each clip is decoded at its own length (no padding), for the same reason.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .diffusion import SOLVERS, LatentDiffusion
from .model.checkpoint import load_bundle, weights_hash
from .model.motion_model import MotionModel
from .model.presets import get_preset
from .model.text import TextEncoder, build_text_encoder
from .motion import Motion

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "assets" / "model"
MAX_SEED = 2**63 - 1


class Cancelled(Exception):
    """Raised by a progress callback to stop sampling; propagates out of `MotionPipeline.__call__`."""


def duration_frames(seconds: object, name: str, fps: float, min_seconds: float, max_seconds: float) -> int:
    """round(seconds × fps) of a finite duration in [min_seconds, max_seconds]; else ValueError naming `name`."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds):
        raise ValueError(f"{name} must be a finite number, got {seconds!r}")
    if not min_seconds <= seconds <= max_seconds + 1e-9:
        raise ValueError(f"{name} = {seconds} is outside [{min_seconds}, {max_seconds}]")
    return round(seconds * fps)


class MotionPipeline:
    min_seconds: float = 1.0  # shorter clips are far outside the training data (HumanML3D: >= 2 s)

    def __init__(self, model: MotionModel, text_encoder: TextEncoder, content_hash: str, device: str = "cpu"):
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.config = model.config
        self.text_encoder = text_encoder.to(self.device)
        self.diffusion = LatentDiffusion(self.config.diffusion)
        self.fps = float(self.config.fps)
        self.max_frames = self.config.vae.max_frames
        self.max_seconds = self.max_frames / self.fps  # 196 frames / 20 fps = 9.8 s
        self.info = {
            "name": self.config.name,
            "preset": self.config.preset,
            "parameters": model.parameter_counts(),
            "text_encoder": self.config.text.encoder,
            "hash": content_hash,
            "fps": self.fps,
            "guidance": self.config.diffusion.guidance_scale,  # the default when a request gives none
        }

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None, device: str = "cpu") -> "MotionPipeline":
        """Load a bundle directory (see `model.checkpoint`); None loads the model shipped with the package."""
        if path is None:
            path = DEFAULT_MODEL_DIR
            if not (path / "config.json").is_file():
                raise FileNotFoundError(
                    f"no shipped model at {path}; train one (`motion-mamba train`) and pass its bundle directory"
                )
        model, doc = load_bundle(path, device)
        return cls(model, build_text_encoder(model.config.text, device), doc.get("content_hash") or weights_hash(model), device)

    @classmethod
    def from_preset(cls, preset: str, seed: int = 0, device: str = "cpu") -> "MotionPipeline":
        """A randomly initialised model of `preset` (weights fixed by `seed`): for tests, benchmarks, smoke runs."""
        config = get_preset(preset)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = MotionModel(config)
        return cls(model, build_text_encoder(config.text, device), weights_hash(model), device)

    def _validate(self, prompts, seconds, seeds, guidance, steps, solver) -> list[int]:
        if not isinstance(prompts, (list, tuple)) or not prompts:
            raise ValueError("prompts must be a non-empty list of strings")
        if not (len(prompts) == len(seconds) == len(seeds)):
            raise ValueError(f"prompts, seconds and seeds differ in length ({len(prompts)}, {len(seconds)}, {len(seeds)})")
        for i, p in enumerate(prompts):
            if not isinstance(p, str) or not p.strip():
                raise ValueError(f"prompts[{i}] must be a non-empty, non-whitespace string, got {p!r}")
        frames = [min(self.max_frames, max(1, duration_frames(s, f"seconds[{i}]", self.fps, self.min_seconds,
                                                              self.max_seconds))) for i, s in enumerate(seconds)]
        for i, seed in enumerate(seeds):
            if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= MAX_SEED:
                raise ValueError(f"seeds[{i}] must be an integer in [0, 2^63-1], got {seed!r}")
        if isinstance(guidance, bool) or not isinstance(guidance, (int, float)) or not math.isfinite(guidance) or guidance < 0:
            raise ValueError(f"guidance must be a finite number >= 0, got {guidance!r}")
        if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 1000):
            raise ValueError(f"steps must be an integer in [1, 1000] or None, got {steps!r}")
        if solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
        return frames

    def initial_noise(self, seed: int) -> torch.Tensor:
        """The (k, d) starting latent of a sample, drawn on the CPU so it is the same on every device."""
        k, d = self.config.vae.latent_size, self.config.vae.latent_dim
        return torch.randn(k, d, generator=torch.Generator().manual_seed(int(seed)))

    @torch.no_grad()  # not inference_mode: the text cache may later feed a training step
    def __call__(
        self,
        prompts: list[str],
        seconds: list[float],
        seeds: list[int],
        guidance: float | None = None,
        steps: int | None = None,
        solver: str = "dpm++",
        callback: Callable[[int, int], None] | None = None,
        cleanup: bool = True,
        split: bool = True,
    ) -> list[Motion]:
        """One `Motion` per prompt. `cleanup` (default) makes the joints a smooth, rigid skeleton with planted feet
        held still (`postprocess.clean_joints`); False returns the model's raw joint positions, rotations fitted to
        them. `split` (default) generates a prompt of sequenced actions ("..., then ...") as a timeline of its
        parts (`timeline.sequence_jobs`); False in one pass."""
        from .features import features_to_joints
        from .postprocess import finish
        from .skeleton import get_skeleton
        from .timeline import join, sequence_jobs

        guidance = self.config.diffusion.guidance_scale if guidance is None else guidance
        frames = self._validate(prompts, seconds, seeds, guidance, steps, solver)
        jobs, layout = sequence_jobs(prompts, frames, seeds, self.fps, self.min_seconds, self.max_frames, split)
        # 1. text: the prompts and the empty prompt of classifier-free guidance, one encoder call
        emb = self.text_encoder.encode([p for p, _, _ in jobs] + [""]).condition(self.config.denoiser.text_segments)
        text, null_text = emb[:-1], emb[-1]
        # 2. latent diffusion from per-sample noise
        noise = torch.stack([self.initial_noise(s) for _, _, s in jobs]).to(self.device)
        steps = self.diffusion.default_steps(solver) if steps is None else steps
        z = self.diffusion.sample(self.model.denoiser, noise, text, null_text, guidance, solver, steps, callback)
        # 3. decode each clip at its own length, join a prompt's parts, then joints -> clean-up -> rotations
        skel = get_skeleton(self.config.skeleton)
        clips = []
        for i, (_, n, _) in enumerate(jobs):
            feats = self.model.denormalize_features(self.model.decode_latent(z[i : i + 1], torch.tensor([n])))[0]
            clips.append(features_to_joints(feats.float().cpu().numpy(), skel) / skel.unit_scale)
        motions = []
        for i, ((first, windows), joints) in enumerate(zip(layout, join(layout, clips, skel))):
            joints, root_translation, rotations = finish(joints, skel, cleanup)
            parts = {} if windows is None else {"segment_prompts": np.asarray([p for p, _, _ in
                                                                               jobs[first:first + len(windows)]])}
            motions.append(
                Motion(
                    joints=joints,
                    fps=self.fps,
                    skeleton=skel.name,
                    rotations=rotations,
                    root_translation=root_translation,
                    text=prompts[i],
                    seed=int(seeds[i]),
                    model=self.info["name"],
                    extras={"solver": solver, "steps": steps, "guidance": float(guidance), "cleanup": bool(cleanup),
                            **parts},
                )
            )
        return motions
