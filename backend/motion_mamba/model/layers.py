"""Transformer pieces shared by the VAE and the baseline denoiser: MLD's skip-connected ("U-Net") transformer.

MLD (`mld/models/operator/cross_attention.py`) stacks an odd number L of layers as (L-1)/2 input blocks, one middle
block and (L-1)/2 output blocks; each output block first fuses its input with the matching input block's output,
`x = Linear(2d -> d)(cat[x, skip])`. We use pre-norm layers (more forgiving in short CPU training) and a final norm.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def sinusoidal_positions(n: int, d: int) -> torch.Tensor:
    """(n, d) fixed sine/cosine positions ("Attention is all you need"); fixed, so any length up to n works."""
    pos = torch.arange(n, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
    pe = torch.zeros(n, d)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq[: d // 2])
    return pe


class _SkipStack(nn.Module):
    """Shared U-Net wiring; subclasses only choose the layer type and how a layer is called."""

    def __init__(self, make_layer, num_layers: int, d_model: int):
        super().__init__()
        if num_layers % 2 != 1:
            raise ValueError(f"a skip-transformer needs an odd number of layers, got {num_layers}")
        n = (num_layers - 1) // 2
        self.input_blocks = nn.ModuleList(make_layer() for _ in range(n))
        self.middle_block = make_layer()
        self.output_blocks = nn.ModuleList(make_layer() for _ in range(n))
        self.linear_blocks = nn.ModuleList(nn.Linear(2 * d_model, d_model) for _ in range(n))
        self.norm = nn.LayerNorm(d_model)

    def _run(self, x: torch.Tensor, call) -> torch.Tensor:
        skips = []
        for block in self.input_blocks:
            x = call(block, x)
            skips.append(x)
        x = call(self.middle_block, x)
        for block, fuse in zip(self.output_blocks, self.linear_blocks):
            x = fuse(torch.cat([x, skips.pop()], dim=-1))  # (B, L, 2d) -> (B, L, d)
            x = call(block, x)
        return self.norm(x)


class SkipTransformerEncoder(_SkipStack):
    """Self-attention stack. x: (B, L, d), padding_mask: (B, L) True where padded -> (B, L, d)."""

    def __init__(self, d_model: int, num_heads: int, ff_size: int, num_layers: int, dropout: float):
        def make_layer() -> nn.Module:
            return nn.TransformerEncoderLayer(
                d_model, num_heads, ff_size, dropout, activation="gelu", batch_first=True, norm_first=True
            )

        super().__init__(make_layer, num_layers, d_model)

    def forward(self, x: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        return self._run(x, lambda layer, h: layer(h, src_key_padding_mask=padding_mask))


class SkipTransformerDecoder(_SkipStack):
    """Self-attention over queries + cross-attention to `memory`. tgt: (B, T, d), memory: (B, M, d) -> (B, T, d)."""

    def __init__(self, d_model: int, num_heads: int, ff_size: int, num_layers: int, dropout: float):
        def make_layer() -> nn.Module:
            return nn.TransformerDecoderLayer(
                d_model, num_heads, ff_size, dropout, activation="gelu", batch_first=True, norm_first=True
            )

        super().__init__(make_layer, num_layers, d_model)

    def forward(
        self, tgt: torch.Tensor, memory: torch.Tensor, padding_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self._run(tgt, lambda layer, h: layer(h, memory, tgt_key_padding_mask=padding_mask))


class ConditionTokens(nn.Module):
    """The denoiser's conditioning tokens, as MLD builds them (`mld_denoiser.py`), plus optional text segments.

    time: sinusoidal(t) -> MLP -> one d-dim token; text: ReLU -> Linear(text_dim -> d) of each text vector (the
    pooled embedding, then any segment means), or with `text_norm` LayerNorm -> Linear; the denoiser's learned
    positions tell the text tokens apart. MiniLM's embeddings are unit vectors (entries ~0.04): through MLD's
    ReLU -> Linear the text token varied ~8x less from prompt to prompt than the time token from step to step, and
    after ~400 steps on the demo latent neither denoiser's ε error depended on the prompt; with LayerNorm it varies
    ~5x more, and the prompt starts to count earlier.
    """

    def __init__(self, d_model: int, text_dim: int, text_norm: bool = False):
        super().__init__()
        from diffusers.models.embeddings import TimestepEmbedding, Timesteps

        self.time_proj = Timesteps(d_model, flip_sin_to_cos=True, downscale_freq_shift=0)
        self.time_embedding = TimestepEmbedding(d_model, d_model)
        self.emb_proj = nn.Sequential(nn.LayerNorm(text_dim) if text_norm else nn.ReLU(), nn.Linear(text_dim, d_model))

    def forward(self, timesteps: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """timesteps: (B,), text: (B, S, text_dim) -> (B, 1 + S, d) = [time token, text tokens]."""
        t = self.time_embedding(self.time_proj(timesteps).to(text.dtype))  # (B, d)
        return torch.cat([t[:, None], self.emb_proj(text)], dim=1)
