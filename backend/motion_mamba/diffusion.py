"""Latent diffusion as MLD trains and samples it (`mld/models/modeltype/mld.py`), on `diffusers` schedulers.

Training: DDPM forward process with 1000 steps and scaled-linear betas 0.00085 -> 0.012; the denoiser predicts
the noise ε (MSE); the text condition is replaced by the empty prompt with probability 0.1 so that one network
is both the conditional and the unconditional model (classifier-free guidance).
Sampling: DDIM (η = 0, 50 steps as in the paper) or DPM-Solver++ (2nd-order multistep, 10-20 steps); both are
deterministic given the initial noise. Guidance runs conditional and unconditional in one batched call:
ε = ε_u + s · (ε_c − ε_u).
"""

from __future__ import annotations

import math
from typing import Callable, Literal

import torch
import torch.nn.functional as F
from torch import nn

from .model.config import DiffusionConfig

Solver = Literal["dpm++", "ddim"]
SOLVERS = ("dpm++", "ddim")


class LatentDiffusion:
    def __init__(self, config: DiffusionConfig):
        from diffusers import DDPMScheduler

        self.config = config
        self.train_scheduler = DDPMScheduler(
            num_train_timesteps=config.num_train_timesteps,
            beta_start=config.beta_start,
            beta_end=config.beta_end,
            beta_schedule=config.beta_schedule,
            variance_type="fixed_small",
            clip_sample=False,
            prediction_type=config.prediction_type,
        )

    def make_scheduler(self, solver: Solver):
        """A fresh sampling scheduler (they keep per-run state, so one per sampling call)."""
        from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

        common = dict(
            num_train_timesteps=self.config.num_train_timesteps,
            beta_start=self.config.beta_start,
            beta_end=self.config.beta_end,
            beta_schedule=self.config.beta_schedule,
            prediction_type=self.config.prediction_type,
        )
        if solver == "ddim":
            return DDIMScheduler(**common, clip_sample=False, set_alpha_to_one=False, steps_offset=1)
        if solver == "dpm++":
            return DPMSolverMultistepScheduler(**common, algorithm_type="dpmsolver++", solver_order=2)
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")

    def default_steps(self, solver: Solver) -> int:
        return self.config.ddim_steps if solver == "ddim" else self.config.fast_steps

    def training_loss(
        self,
        denoiser: nn.Module,
        z0: torch.Tensor,
        text: torch.Tensor,
        null_text: torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """ε-prediction MSE on a batch of clean latents z0 (B, k, d); text (B, S, D), null_text (S, D) = encode("")."""
        B = z0.shape[0]
        dev = z0.device
        t = torch.randint(0, self.config.num_train_timesteps, (B,), generator=generator, device=dev)
        noise = torch.randn(z0.shape, generator=generator, device=dev, dtype=z0.dtype)
        zt = self.train_scheduler.add_noise(z0, noise, t)
        drop = torch.rand(B, generator=generator, device=dev) < self.config.cond_drop_prob
        cond = torch.where(drop[:, None, None], null_text.expand_as(text), text)
        pred = denoiser(zt, t, cond)
        target = noise if self.config.prediction_type == "epsilon" else z0
        return F.mse_loss(pred, target)

    @torch.no_grad()
    def sample(
        self,
        denoiser: nn.Module,
        noise: torch.Tensor,
        text: torch.Tensor,
        null_text: torch.Tensor,
        guidance: float | None = None,
        solver: Solver = "dpm++",
        steps: int | None = None,
        callback: Callable[[int, int], None] | None = None,
    ) -> torch.Tensor:
        """Denoise `noise` (B, k, d) into clean latents (B, k, d) under text (B, S, D); null_text (S, D).

        callback(step, total) runs after each step (1-based); an exception it raises stops sampling.
        """
        guidance = self.config.guidance_scale if guidance is None else float(guidance)
        if not math.isfinite(guidance):
            raise ValueError(f"guidance must be a finite number, got {guidance}")
        steps = self.default_steps(solver) if steps is None else int(steps)
        if not 1 <= steps <= self.config.num_train_timesteps:
            raise ValueError(f"steps must be in [1, {self.config.num_train_timesteps}], got {steps}")
        scheduler = self.make_scheduler(solver)
        scheduler.set_timesteps(steps, device=noise.device)
        guided = guidance != 1.0  # s = 1 is the conditional model alone: skip the unconditional half
        z = noise * scheduler.init_noise_sigma
        total = len(scheduler.timesteps)
        for i, t in enumerate(scheduler.timesteps):
            z_in = scheduler.scale_model_input(z, t)
            # One denoiser call per sample (its conditional and unconditional rows batched together): CPU kernels
            # round differently for different batch sizes, and a sample must not depend on its batch-mates.
            eps = torch.cat([self._guided_eps(denoiser, z_in[b : b + 1], t, text[b], null_text, guidance if guided else None)
                             for b in range(z.shape[0])])
            z = scheduler.step(eps, t, z).prev_sample
            if callback is not None:
                callback(i + 1, total)
        return z

    @staticmethod
    def _guided_eps(
        denoiser: nn.Module, z: torch.Tensor, t: torch.Tensor, text: torch.Tensor, null_text: torch.Tensor,
        guidance: float | None,
    ) -> torch.Tensor:
        """ε for one sample z (1, k, d): ε_u + s (ε_c − ε_u) from one batched call, or ε_c alone if guidance is None."""
        if guidance is None:
            return denoiser(z, t.expand(1), text[None])
        eps_c, eps_u = denoiser(torch.cat([z, z]), t.expand(2), torch.stack([text, null_text])).chunk(2)
        return eps_u + guidance * (eps_c - eps_u)
