"""Motion Mamba: text-to-motion latent diffusion with selective state-space denoisers (arXiv 2403.07487)."""

__version__ = "0.1.0"
