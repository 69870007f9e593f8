"""Motion Mamba's networks: MLD motion VAE (`vae`), the HTM/BSM U-Net denoiser (`denoiser`), MLD's transformer
denoiser baseline (`baseline`), frozen text encoders (`text`), configs and presets, and safetensors bundles."""

from .config import DenoiserConfig, DiffusionConfig, ModelConfig, TextConfig, VAEConfig
from .motion_model import MotionModel
from .presets import PRESET_NAMES, describe, get_preset

__all__ = [
    "DenoiserConfig", "DiffusionConfig", "ModelConfig", "TextConfig", "VAEConfig",
    "MotionModel", "PRESET_NAMES", "describe", "get_preset",
]
