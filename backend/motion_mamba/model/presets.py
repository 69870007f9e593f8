"""The model sizes in one place: `paper` (faithful), `paper-literal` (the other "N = 11" reading), `demo` (trains
on 2 CPU cores in about an hour, shipped model) and `test` (seconds). `get_preset(name, arch="transformer")`
gives the MLD-style baseline with the same parameter budget.

demo, sized for the shipped model (≤ 30 MB of float32 weights, ≤ 1 s per 10 s clip on a CPU, trained on ~10k
procedural clips in ≤ 60 min on 2 cores): a 4 × 128 latent (2 × 128 reconstructed no better than FID 4 after
2800 or 3850 steps, above the FID bar; the recipe run with 4, which also got twice the steps on a quieter machine,
brought the generated FID from 6.0 to 2.0: docs/model.md *Run f*), d = 128 transformer width, 4-frame patches and
no dropout
make the VAE ~4x faster per step than MLD's per-frame layout (measured: 0.39 -> 1.6 steps/s at batch 32 on one
core) and let it converge in the budget, where short training underfits rather than overfits; the patches
overlap (cross-faded, `model/vae.py`) and the text embedding is LayerNormed (`model/layers.py`); 3 + mixer + 3
Mamba blocks (scans 5, 3, 1) keep the denoiser's per-step cost small (it sees 2 + k = 6 tokens: at batch 1 its cost
is Python/scan overhead, not FLOPs; a training step does scale with the batch, 0.28 / 0.51 / 0.98 s at 128 / 256 /
512 on 2 threads), and the 15-step DPM-Solver++ default keeps sampling well under a second.
Text segments (`text_segments`, word order) are off: with 3 a Mamba step costs 30-45 % more, they gain 0.02-0.05
composition R@3 at equal steps on the same VAE, and none of three recipe runs with them beat the installed model
(docs/model.md). On the 4 × 128 latent a K = 3 denoiser on run f's VAE beat run f's by 0.03 / 0.10 R@3
(phrasings / compositions, docs/model.md *Run f*), but the recipe run with them (run g, docs/model.md *Run g*) did
not beat run f paired (0.594 / 0.533 vs 0.599 / 0.562): one run's VAE and seeds move R@3 as much as K does. Since
prompts of sequenced actions are generated part by part (docs/model.md *Sequenced prompts*), the model mostly sees
one action per prompt, where word order matters least, and K = 0's cheaper steps count for more.
"""

from __future__ import annotations

import dataclasses

from .baseline import matched_baseline
from .config import DenoiserConfig, DiffusionConfig, ModelConfig, TextConfig, VAEConfig

PRESET_NAMES = ("paper", "paper-literal", "demo", "test")


def _paper(per_side: bool) -> ModelConfig:
    return ModelConfig(
        name="motion-mamba-paper-literal" if per_side else "motion-mamba-paper",
        preset="paper-literal" if per_side else "paper",
        vae=VAEConfig(latent_size=2, latent_dim=256, ff_size=1024, num_layers=9, num_heads=4, dropout=0.1),
        denoiser=DenoiserConfig(
            latent_size=2,
            latent_dim=256,
            text_dim=768,
            num_layers=11,
            layer_reading="per_side" if per_side else "total",
            num_heads=4,
            ff_size=1024,
            dropout=0.1,
        ),
        diffusion=DiffusionConfig(),
        text=TextConfig(encoder="clip", dim=768),
    )


def _demo() -> ModelConfig:
    return ModelConfig(
        name="motion-mamba-demo",
        preset="demo",
        vae=VAEConfig(latent_size=4, latent_dim=128, ff_size=256, num_layers=3, num_heads=4, dropout=0.0,
                      patch_frames=4, patch_overlap=True),
        denoiser=DenoiserConfig(
            latent_size=4, latent_dim=128, text_dim=384, text_norm=True, num_layers=7, num_heads=4, ff_size=256,
            dropout=0.1,
        ),
        diffusion=DiffusionConfig(fast_steps=15),
        text=TextConfig(encoder="minilm", dim=384),
    )


def _test() -> ModelConfig:
    return ModelConfig(
        name="motion-mamba-test",
        preset="test",
        vae=VAEConfig(latent_size=2, latent_dim=32, ff_size=64, num_layers=3, num_heads=2, dropout=0.0),
        denoiser=DenoiserConfig(
            latent_size=2, latent_dim=32, text_dim=32, text_segments=2, num_layers=5, num_heads=2, ff_size=64,
            dropout=0.0, d_state=8,
        ),
        diffusion=DiffusionConfig(fast_steps=10),
        text=TextConfig(encoder="tiny", dim=32),
    )


def get_preset(name: str, arch: str = "mamba") -> ModelConfig:
    """A fresh `ModelConfig` for preset `name`; arch="transformer" swaps in the parameter-matched baseline."""
    builders = {"paper": lambda: _paper(False), "paper-literal": lambda: _paper(True), "demo": _demo, "test": _test}
    if name not in builders:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESET_NAMES)}")
    config = builders[name]()
    if arch == "transformer":
        config.denoiser = matched_baseline(config.denoiser)
        config.name += "-baseline"
    elif arch != "mamba":
        raise ValueError(f"arch must be 'mamba' or 'transformer', got {arch!r}")
    return config.validate()


def with_skeleton(config: ModelConfig, skeleton: str) -> ModelConfig:
    """The same model for another skeleton's features (KIT-21: 251 dims at 12.5 fps)."""
    from ..skeleton import get_skeleton

    skel = get_skeleton(skeleton)
    return dataclasses.replace(
        config, skeleton=skel.name, fps=skel.fps, vae=dataclasses.replace(config.vae, nfeats=skel.feature_dim)
    ).validate()


def describe(config: ModelConfig) -> dict:
    """Parameter counts and the HTM scan layout, computed on the meta device (no memory, no weights needed)."""
    import torch

    from .motion_model import MotionModel

    with torch.device("meta"):
        counts = MotionModel(config).parameter_counts()
    d = config.denoiser
    return {
        "preset": config.preset,
        "name": config.name,
        "parameters": counts,
        "weights_mb_float32": round(counts["total"] * 4 / 2**20, 2),
        "htm_scans": d.htm_scans if d.arch == "mamba" else [],
        "denoiser": {"arch": d.arch, "num_layers": d.num_layers, "layer_reading": d.layer_reading,
                     "blocks_per_side": d.num_blocks if d.arch == "mamba" else None},
        "latent": [config.vae.latent_size, config.vae.latent_dim],
        "text_encoder": config.text.encoder,
    }
