"""Configuration dataclasses for every network in a Motion Mamba model, serialised as JSON in a bundle.

A `ModelConfig` fully determines the architecture: `build_model(config)` rebuilds the same modules, so a bundle's
`config.json` plus its `model.safetensors` is a complete model (no pickle, no code in the checkpoint).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

TextEncoderName = Literal["clip", "minilm", "tiny"]
DenoiserArch = Literal["mamba", "transformer"]
LayerReading = Literal["total", "per_side"]

TEXT_DIMS = {"clip": 768, "minilm": 384}  # pooled embedding width of each pretrained encoder


@dataclass
class VAEConfig:
    """MLD's motion VAE (`mld_vae.py`): skip-connected transformer encoder/decoder over per-frame features."""

    nfeats: int = 263  # 263 HumanML3D (SMPL-22), 251 KIT-ML (KIT-21)
    latent_size: int = 2  # k latent tokens (Motion Mamba: 2; MLD-1: 1)
    latent_dim: int = 256  # d, also the transformer width
    ff_size: int = 1024
    num_layers: int = 9  # odd: (L-1)/2 input blocks, 1 middle, (L-1)/2 output blocks with U-Net skips
    num_heads: int = 4
    dropout: float = 0.1
    max_frames: int = 196  # HumanML3D clips are at most 196 frames (9.8 s at 20 fps)
    patch_frames: int = 1  # frames per transformer token (MLD: 1); >1 patchifies time, see model/vae.py
    patch_overlap: bool = False  # decode each token to 2P frames, overlap-added with a sin² window (P even)
    kl_weight: float = 1e-4  # MLD config_vae_humanml3d.yaml LAMBDA_KL
    joint_weight: float = 1.0  # SmoothL1 on joints recovered from the features (MLD LAMBDA_JOINT)


@dataclass
class DenoiserConfig:
    """The latent denoiser ε_θ(z_t, t, τ(w)): Motion Mamba's U-Net (`mamba`) or MLD's transformer (`transformer`).

    `num_layers` follows the paper's "N = 11": with `layer_reading="total"` (MLD's reading, the default) it counts
    encoder blocks + mixer + decoder blocks, so 11 means 5 + 1 + 5; with "per_side" it is the number of encoder
    blocks (and of decoder blocks), so 11 means 11 + 1 + 11. See docs/model.md.
    """

    arch: DenoiserArch = "mamba"
    latent_size: int = 2  # k, must match the VAE
    latent_dim: int = 256  # d, must match the VAE; BSM scans along these channels
    text_dim: int = 768  # width of the pooled text embedding
    text_norm: bool = False  # LayerNorm the pooled embedding before its projection (MLD: ReLU), see layers.py
    text_segments: int = 0  # text tokens beyond the pooled one: segment means that keep word order (model/text.py)
    num_layers: int = 11
    layer_reading: LayerReading = "total"
    num_heads: int = 4  # mixer (mamba) or every layer (transformer)
    ff_size: int = 1024  # feed-forward width of the mixer / transformer layers
    dropout: float = 0.1
    d_state: int = 16  # Mamba defaults (mamba_simple.Mamba); the paper does not give them
    d_conv: int = 4
    expand: int = 2

    @property
    def condition_tokens(self) -> int:
        """Tokens before the latent ones: time, pooled text, text segments."""
        return 2 + self.text_segments

    @property
    def num_blocks(self) -> int:
        """Encoder blocks per side of the U-Net (the decoder has as many)."""
        if self.layer_reading == "per_side":
            return self.num_layers
        return (self.num_layers - 1) // 2

    @property
    def htm_scans(self) -> list[int]:
        """SSM count of each HTM block, encoder blocks first then decoder blocks: {S_2N-1, ..., S_1} mirrored."""
        down = [2 * (self.num_blocks - i) - 1 for i in range(self.num_blocks)]
        return down + down[::-1]


@dataclass
class DiffusionConfig:
    """MLD's schedulers (`configs/modules/scheduler.yaml`) and classifier-free guidance settings."""

    num_train_timesteps: int = 1000
    beta_start: float = 0.00085
    beta_end: float = 0.012
    beta_schedule: str = "scaled_linear"
    prediction_type: str = "epsilon"
    cond_drop_prob: float = 0.1  # training replaces the text by "" this often, to learn the unconditional model
    guidance_scale: float = 7.5
    ddim_steps: int = 50  # paper
    fast_steps: int = 15  # DPM-Solver++ steps


@dataclass
class TextConfig:
    encoder: TextEncoderName = "clip"
    path: str | None = None  # local folder of the weights (clip only); None -> the user's HF cache
    dim: int = 768  # tiny encoder: any width; pretrained encoders: fixed by TEXT_DIMS


@dataclass
class ModelConfig:
    name: str = "motion-mamba"
    preset: str = "paper"
    skeleton: str = "smpl22"
    fps: float = 20.0
    vae: VAEConfig = field(default_factory=VAEConfig)
    denoiser: DenoiserConfig = field(default_factory=DenoiserConfig)
    diffusion: DiffusionConfig = field(default_factory=DiffusionConfig)
    text: TextConfig = field(default_factory=TextConfig)

    def validate(self) -> "ModelConfig":
        """Raise ValueError naming the inconsistent field; return self so calls chain."""
        v, d, t = self.vae, self.denoiser, self.text
        if v.num_layers % 2 != 1:
            raise ValueError(f"vae.num_layers must be odd (skip-transformer), got {v.num_layers}")
        if v.patch_frames < 1 or v.max_frames % v.patch_frames:
            raise ValueError(f"vae.patch_frames must be >= 1 and divide max_frames {v.max_frames}, got {v.patch_frames}")
        if v.patch_overlap and v.patch_frames % 2:
            raise ValueError(f"vae.patch_overlap needs an even patch_frames, got {v.patch_frames}")
        if v.latent_dim % v.num_heads:
            raise ValueError(f"vae.latent_dim {v.latent_dim} is not divisible by vae.num_heads {v.num_heads}")
        if (d.latent_size, d.latent_dim) != (v.latent_size, v.latent_dim):
            raise ValueError(
                f"denoiser latent {d.latent_size}x{d.latent_dim} != vae latent {v.latent_size}x{v.latent_dim}"
            )
        if d.text_dim != t.dim:
            raise ValueError(f"denoiser.text_dim {d.text_dim} != text.dim {t.dim}")
        if t.encoder in TEXT_DIMS and t.dim != TEXT_DIMS[t.encoder]:
            raise ValueError(f"text.dim must be {TEXT_DIMS[t.encoder]} for the {t.encoder} encoder, got {t.dim}")
        if d.text_segments < 0:
            raise ValueError(f"denoiser.text_segments must be >= 0, got {d.text_segments}")
        if d.arch not in ("mamba", "transformer"):
            raise ValueError(f"denoiser.arch must be 'mamba' or 'transformer', got {d.arch!r}")
        if d.layer_reading not in ("total", "per_side"):
            raise ValueError(f"denoiser.layer_reading must be 'total' or 'per_side', got {d.layer_reading!r}")
        if d.layer_reading == "total" and d.num_layers % 2 != 1:
            raise ValueError(f"denoiser.num_layers must be odd when counted in total, got {d.num_layers}")
        if d.num_blocks < 1 and d.arch == "mamba":
            raise ValueError(f"denoiser.num_layers {d.num_layers} leaves no encoder block")
        if d.latent_dim % d.num_heads:
            raise ValueError(f"denoiser.latent_dim {d.latent_dim} is not divisible by num_heads {d.num_heads}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        """Inverse of `to_dict`; unknown keys raise ValueError naming them, missing ones take their defaults."""
        sections = {"vae": VAEConfig, "denoiser": DenoiserConfig, "diffusion": DiffusionConfig, "text": TextConfig}
        kwargs = {}
        for key, value in _checked(cls, data, "config").items():
            kwargs[key] = sections[key](**_checked(sections[key], value, key)) if key in sections else value
        return cls(**kwargs).validate()


def _checked(kind: type, data: Any, where: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected an object, got {type(data).__name__}")
    names = {f.name for f in fields(kind)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}")
    return data
