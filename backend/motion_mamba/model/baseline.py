"""MLD's transformer denoiser (`mld/models/architectures/mld_denoiser.py`, `trans_enc` + SKIP_CONNECT), the A/B
baseline: same inputs, outputs and conditioning tokens as `MotionMambaDenoiser`, with a skip-transformer over
[time, text tokens, z_1..z_k] instead of HTM/BSM blocks (and the same linear z_t -> ε̂ path). (MLD appends the
condition tokens; full attention does not care.)
"""

from __future__ import annotations

import dataclasses
import math

import torch
from torch import nn

from .config import DenoiserConfig
from .layers import ConditionTokens, SkipTransformerEncoder


class TransformerDenoiser(nn.Module):
    def __init__(self, config: DenoiserConfig):
        super().__init__()
        self.config = c = config
        d = c.latent_dim
        self.cond = ConditionTokens(d, c.text_dim, c.text_norm)
        self.pos = nn.Parameter(torch.randn(c.condition_tokens + c.latent_size, d) * 0.02)
        self.encoder = SkipTransformerEncoder(d, c.num_heads, c.ff_size, c.num_layers, c.dropout)
        self.out = nn.Linear(d, d)
        self.z_skip = nn.Linear(d, d)  # linear path z_t -> ε̂ around the final norm, as in MotionMambaDenoiser

    def forward(self, z: torch.Tensor, timesteps: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """z: (B, k, d) noisy latent; timesteps: (B,); text: (B, 1 + K, text_dim) -> ε̂ (B, k, d)."""
        h = torch.cat([self.cond(timesteps, text), z], dim=1) + self.pos  # (B, c + k, d)
        return self.out(self.encoder(h))[:, self.config.condition_tokens:] + self.z_skip(z)


def build_denoiser(config: DenoiserConfig) -> nn.Module:
    if config.arch == "transformer":
        return TransformerDenoiser(config)
    if config.arch == "mamba":
        from .denoiser import MotionMambaDenoiser

        return MotionMambaDenoiser(config)
    raise ValueError(f"denoiser.arch must be 'mamba' or 'transformer', got {config.arch!r}")


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def matched_baseline(config: DenoiserConfig) -> DenoiserConfig:
    """The transformer denoiser with the same parameter count as `config`'s, for equal-budget comparisons.

    For every odd depth 1..15 the feed-forward width is solved for the budget (built on the meta device, so nothing
    is allocated); of the depths that match within 1%, the one whose width is nearest `config.ff_size` wins, so the
    baseline keeps MLD's proportions instead of becoming one very wide layer.
    """
    with torch.device("meta"):
        target = count_parameters(build_denoiser(config))
        best, best_score = None, None
        for layers in range(1, 16, 2):
            base = dataclasses.replace(config, arch="transformer", num_layers=layers, layer_reading="total", ff_size=4)
            n0 = count_parameters(build_denoiser(base))
            per_ff = count_parameters(build_denoiser(dataclasses.replace(base, ff_size=5))) - n0
            ff = round((target - n0) / per_ff) + 4
            if ff < 4:
                continue
            cand = dataclasses.replace(base, ff_size=ff)
            if abs(count_parameters(build_denoiser(cand)) - target) > 0.01 * target:
                continue
            score = abs(math.log(ff / config.ff_size))
            if best_score is None or score < best_score:
                best, best_score = cand, score
    if best is None:
        raise ValueError(f"no transformer of 1..15 layers matches {target} denoiser parameters")
    return best
