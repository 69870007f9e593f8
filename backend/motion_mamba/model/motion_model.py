"""`MotionModel`: everything one bundle holds — the VAE, the denoiser and the statistics that normalise their
inputs. Diffusion runs on *standardised* latents (z − latent_mean) / latent_std: with MLD's tiny KL weight the
VAE's latent channels have arbitrary scales, and a unit-variance latent matches the N(0, I) the sampler starts
from (Stable Diffusion's `scaling_factor`, per element here).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .baseline import build_denoiser, count_parameters
from .config import ModelConfig
from .vae import MotionVAE

STAT_NAMES = ("feature_mean", "feature_std", "latent_mean", "latent_std")


class MotionModel(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config.validate()
        v = config.vae
        self.vae = MotionVAE(v)
        self.denoiser = build_denoiser(config.denoiser)
        # Statistics are data, not weights: they live in config.json, so they are non-persistent buffers here.
        self.register_buffer("feature_mean", torch.zeros(v.nfeats), persistent=False)
        self.register_buffer("feature_std", torch.ones(v.nfeats), persistent=False)
        self.register_buffer("latent_mean", torch.zeros(v.latent_size, v.latent_dim), persistent=False)
        self.register_buffer("latent_std", torch.ones(v.latent_size, v.latent_dim), persistent=False)

    def set_statistics(self, **stats: "np.ndarray | torch.Tensor") -> None:
        """Set any of feature_mean/feature_std (nfeats,) and latent_mean/latent_std (k, d); stds must be > 0."""
        for name, value in stats.items():
            if name not in STAT_NAMES:
                raise ValueError(f"unknown statistic {name!r}; expected one of {STAT_NAMES}")
            buf = getattr(self, name)
            value = torch.as_tensor(np.asarray(value, dtype=np.float32)).to(buf.device)
            if value.shape != buf.shape:
                raise ValueError(f"{name} must have shape {tuple(buf.shape)}, got {tuple(value.shape)}")
            if not torch.isfinite(value).all() or (name.endswith("std") and (value <= 0).any()):
                raise ValueError(f"{name} must be finite{' and > 0' if name.endswith('std') else ''}")
            buf.copy_(value)

    def statistics(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name).detach().cpu().numpy() for name in STAT_NAMES}

    def fit_latent_statistics(self, mu: torch.Tensor, floor: float = 1e-3) -> None:
        """Set latent_mean/std from encoder means μ (N, k, d) of the training set (call after VAE training)."""
        self.set_statistics(latent_mean=mu.mean(0), latent_std=mu.std(0).clamp_min(floor))

    def normalize_features(self, features: torch.Tensor) -> torch.Tensor:
        return (features - self.feature_mean) / self.feature_std

    def denormalize_features(self, features: torch.Tensor) -> torch.Tensor:
        return features * self.feature_std + self.feature_mean

    def encode_latent(self, features: torch.Tensor, lengths: torch.Tensor, sample: bool = False) -> torch.Tensor:
        """Normalised features (B, T, nfeats) -> standardised latent (B, k, d), the diffusion's data space."""
        z, _, _ = self.vae.encode(features, lengths, sample=sample)
        return (z - self.latent_mean) / self.latent_std

    def decode_latent(self, z: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Standardised latent (B, k, d) -> normalised features (B, max(lengths), nfeats)."""
        return self.vae.decode(z * self.latent_std + self.latent_mean, lengths)

    def parameter_counts(self) -> dict[str, int]:
        vae, den = count_parameters(self.vae), count_parameters(self.denoiser)
        return {"vae": vae, "denoiser": den, "total": vae + den}
