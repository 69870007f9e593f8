"""MLD's motion VAE (`mld/models/architectures/mld_vae.py`, arch `encoder_decoder`) with a k-token latent.

Encoder: per-frame features -> Linear -> prepend 2k learned "global motion" tokens -> skip-transformer over
[tokens, frames] with the padded frames masked; the first k outputs are μ, the next k are log σ²; z ~ N(μ, σ²).
Decoder: one query per output frame (a sinusoidal position, so the length is chosen at decode time, up to
`max_frames`) cross-attends to the k latent tokens -> Linear -> features; padded frames are set to 0.
Unlike MLD we add a learned position to each latent token before the decoder: cross-attention is otherwise blind
to token order, so z = [a, b] and [b, a] would decode alike and a k = 2 latent would waste capacity.

`patch_frames` = P > 1 groups P consecutive frames into one transformer token (ViT-style patches over time: the
encoder embeds P·nfeats -> d, the decoder projects d -> P·nfeats). Motion at 20 fps is smooth over a few frames,
and P = 4 makes every layer ~4x cheaper and attention ~16x: what lets the `demo` VAE converge on 2 CPU cores.
P = 1 is MLD's per-frame VAE. Decoding P frames per token puts every patch boundary between two tokens' linear
read-outs; `patch_overlap` decodes 2P frames per token instead, centred on its patch, and overlap-adds them with
a sin² window, so neighbouring tokens cross-fade over every boundary.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..skeleton import get_skeleton
from .config import VAEConfig
from .layers import SkipTransformerDecoder, SkipTransformerEncoder, sinusoidal_positions


def lengths_to_mask(lengths: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
    """(B,) frame counts -> (B, T) bool, True on real frames."""
    max_len = int(lengths.max()) if max_len is None else max_len
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


class MotionVAE(nn.Module):
    def __init__(self, config: VAEConfig):
        super().__init__()
        self.config = c = config
        d, k = c.latent_dim, c.latent_size
        self.skel_embedding = nn.Linear(c.patch_frames * c.nfeats, d)
        self.global_motion_token = nn.Parameter(torch.randn(2 * k, d) * 0.02)  # [μ tokens, log σ² tokens]
        self.latent_pos = nn.Parameter(torch.randn(k, d) * 0.02)
        self.encoder = SkipTransformerEncoder(d, c.num_heads, c.ff_size, c.num_layers, c.dropout)
        self.decoder = SkipTransformerDecoder(d, c.num_heads, c.ff_size, c.num_layers, c.dropout)
        span = 2 * c.patch_frames if c.patch_overlap else c.patch_frames  # frames decoded per token
        self.final_layer = nn.Linear(d, span * c.nfeats)
        self.register_buffer("pos", sinusoidal_positions(c.max_frames // c.patch_frames + 2 * k, d), persistent=False)
        # w_j = sin²(π(j + ½) / 2P): w_j + w_{j+P} = 1, so windows one patch apart sum to one (constant overlap-add)
        window = torch.sin(torch.pi * (torch.arange(span) + 0.5) / span) ** 2
        self.register_buffer("window", window, persistent=False)

    def _check_lengths(self, lengths: torch.Tensor) -> None:
        if lengths.numel() and (int(lengths.min()) < 1 or int(lengths.max()) > self.config.max_frames):
            raise ValueError(f"lengths must be in [1, {self.config.max_frames}], got {lengths.tolist()}")

    def encode(
        self, features: torch.Tensor, lengths: torch.Tensor, sample: bool = True, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """features: (B, T, nfeats) normalised, zero-padded; lengths: (B,) -> z, μ, log σ², each (B, k, d)."""
        self._check_lengths(lengths)
        lengths = lengths.to(features.device)  # callers may keep lengths on the CPU; the masks live with the data
        B, T, F_ = features.shape
        k, P = self.config.latent_size, self.config.patch_frames
        n = -(-T // P)  # tokens: frames padded up to whole patches (the padding is zero, as padded frames are)
        features = features * lengths_to_mask(lengths, T)[..., None]  # a patch may hold real and padded frames
        patches = F.pad(features, (0, 0, 0, n * P - T)).reshape(B, n, P * F_)
        x = self.skel_embedding(patches)  # (B, n, d)
        x = torch.cat([self.global_motion_token.expand(B, -1, -1), x], dim=1)  # (B, 2k + n, d)
        x = x + self.pos[: 2 * k + n]
        token_lengths = torch.div(lengths + P - 1, P, rounding_mode="floor")
        valid = torch.cat([torch.ones(B, 2 * k, dtype=torch.bool, device=x.device), lengths_to_mask(token_lengths, n)], 1)
        h = self.encoder(x, padding_mask=~valid)[:, : 2 * k]  # (B, 2k, d)
        mu, logvar = h[:, :k], h[:, k:].clamp(-20.0, 10.0)
        if not sample:
            return mu, mu, logvar
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps, mu, logvar

    def decode(self, z: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """z: (B, k, d); lengths: (B,) -> normalised features (B, max(lengths), nfeats), zero on padded frames."""
        self._check_lengths(lengths)
        lengths = lengths.to(z.device)
        B, P = z.shape[0], self.config.patch_frames
        T = int(lengths.max())
        n = -(-T // P)
        token_mask = lengths_to_mask(torch.div(lengths + P - 1, P, rounding_mode="floor"), n)  # (B, n)
        queries = self.pos[:n].expand(B, -1, -1)  # MLD: zero queries + position
        h = self.decoder(queries, z + self.latent_pos, padding_mask=~token_mask)
        frames = self._unpatch(self.final_layer(h), token_mask)[:, :T]  # (B, T, nfeats)
        return frames * lengths_to_mask(lengths, T)[..., None]

    def _unpatch(self, out: torch.Tensor, token_mask: torch.Tensor) -> torch.Tensor:
        """(B, n, span·nfeats) -> (B, n·P, nfeats). With overlap, token i covers frames [iP − P/2, iP + 3P/2):
        frame f = Σ_i w(f − iP + P/2)·x_i(f) / Σ_i w(…) over the clip's real tokens only, so a padded token changes
        nothing and a frame only one token covers (the clip's first and last P/2) is that token's own output."""
        B, n = out.shape[:2]
        P, nfeats = self.config.patch_frames, self.config.nfeats
        if not self.config.patch_overlap:
            return out.reshape(B, n * P, nfeats)
        weight = self.window[:, None] * token_mask[:, :, None, None].to(out.dtype)  # (B, n, 2P, 1)

        def overlap_add(x: torch.Tensor) -> torch.Tensor:  # (B, n, 2P, C) -> (B, (n + 1)·P, C)
            first, second = x[:, :, :P], x[:, :, P:]  # token i's second half meets token i+1's first
            canvas = F.pad(first, (0, 0, 0, 0, 0, 1)) + F.pad(second, (0, 0, 0, 0, 1, 0))
            return canvas.reshape(B, (n + 1) * P, -1)

        frames = overlap_add(out.reshape(B, n, 2 * P, nfeats) * weight) / overlap_add(weight).clamp_min(1e-6)
        return frames[:, P // 2: P // 2 + n * P]

    def forward(self, features: torch.Tensor, lengths: torch.Tensor, generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Reconstruction (B, T, nfeats) of z ~ q(z|x), μ, log σ²."""
        z, mu, logvar = self.encode(features, lengths, generator=generator)
        return self.decode(z, lengths), mu, logvar


def vae_loss(
    vae: MotionVAE,
    features: torch.Tensor,
    lengths: torch.Tensor,
    feature_mean: torch.Tensor,
    feature_std: torch.Tensor,
    skeleton: str = "smpl22",
    generator: torch.Generator | None = None,
) -> dict[str, torch.Tensor]:
    """MLD's VAE objective (`mld/models/losses/mld.py`), averaged over the real (unpadded) frames.

    total = SmoothL1(features) + joint_weight · SmoothL1(joints) + kl_weight · KL(N(μ, σ²) ‖ N(0, I)),
    with the joints recovered (`features_to_joints`) from the de-normalised features in metres, so errors that
    integrate along the root trajectory are penalised where the animator sees them.
    features: (B, T, nfeats) normalised, zero-padded; lengths: (B,); generator: for z ~ q(z|x).
    """
    from ..features import features_to_joints

    c = vae.config
    recon, mu, logvar = vae(features, lengths, generator)
    mask = lengths_to_mask(lengths, features.shape[1])[..., None].to(features.dtype)  # (B, T, 1)
    n_valid = mask.sum()
    rec = (F.smooth_l1_loss(recon, features, reduction="none") * mask).sum() / (n_valid * c.nfeats)
    skel = get_skeleton(skeleton)
    to_metres = 1.0 / skel.unit_scale
    # Padded rows come after the real ones, so they cannot shift the integrated root path; the mask drops them.
    j_hat = features_to_joints(recon * feature_std + feature_mean, skel) * to_metres  # (B, T, J, 3)
    j_ref = features_to_joints(features * feature_std + feature_mean, skel) * to_metres
    joint = (F.smooth_l1_loss(j_hat, j_ref, reduction="none") * mask[..., None]).sum() / (
        n_valid * skel.num_joints * 3
    )
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).mean()
    total = rec + c.joint_weight * joint + c.kl_weight * kl
    return {"total": total, "rec": rec, "joint": joint, "kl": kl}
