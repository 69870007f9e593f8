"""End-to-end memorisation: the `test` preset's VAE and Motion Mamba denoiser learn 4 captioned clips, and the
pipeline, given each caption, generates that caption's clip (its nearest neighbour among the 4, every time).

This is the smallest complete run of what training does: VAE with the MLD loss, latent statistics, ε-prediction
with condition dropout, then guided sampling, VAE decoding and joint recovery through `MotionPipeline`.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from motion_fixtures import random_pose_clip, sideways_walk, turning_clip, walk_clip
from motion_mamba.diffusion import LatentDiffusion
from motion_mamba.features import features_to_joints, joints_to_features, mean_std
from motion_mamba.model.motion_model import MotionModel
from motion_mamba.model.presets import get_preset
from motion_mamba.model.text import build_text_encoder
from motion_mamba.model.vae import vae_loss
from motion_mamba.pipeline import MotionPipeline

T = 41  # 40 feature rows = 2.0 s at 20 fps
CAPTIONS = ["a person walks forward", "a person walks in circles", "someone side steps", "a person flails around"]


def _clips() -> list[np.ndarray]:
    return [walk_clip(T), turning_clip(T, turns=0.5), sideways_walk(T), random_pose_clip(T, seed=3, max_angle=0.6)]


def train_memorised_pipeline(
    arch: str = "mamba", seed: int = 0, vae_steps: int = 250, denoiser_steps: int = 800, reps: int = 8
) -> tuple[MotionPipeline, list[np.ndarray]]:
    """A pipeline whose model memorised the 4 clips; returns it and each clip's reference joints (40, 22, 3)."""
    torch.manual_seed(seed)
    feats = [joints_to_features(j) for j in _clips()]
    mean, std = mean_std(feats)
    config = get_preset("test", arch=arch)
    model = MotionModel(config)
    model.set_statistics(feature_mean=mean, feature_std=np.maximum(std, 1e-2))
    x = model.normalize_features(torch.tensor(np.stack(feats)))  # (4, 40, 263)
    lengths = torch.full((4,), x.shape[1])

    # 1. VAE: reconstruct the 4 clips
    opt = torch.optim.AdamW(model.vae.parameters(), lr=3e-3)
    for _ in range(vae_steps):
        loss = vae_loss(model.vae, x, lengths, model.feature_mean, model.feature_std)["total"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.vae.eval()
    with torch.no_grad():
        _, mu, _ = model.vae.encode(x, lengths, sample=False)
    model.fit_latent_statistics(mu)
    with torch.no_grad():
        z0 = model.encode_latent(x, lengths)  # (4, k, d), standardised

    # 2. denoiser: ε-prediction with 10% condition dropout, batches of the 4 latents at random timesteps
    text = build_text_encoder(config.text)
    emb = text.encode(CAPTIONS + [""]).condition(config.denoiser.text_segments)
    diffusion = LatentDiffusion(config.diffusion)
    opt = torch.optim.AdamW(model.denoiser.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=denoiser_steps, pct_start=0.05)
    for _ in range(denoiser_steps):
        loss = diffusion.training_loss(model.denoiser, z0.repeat(reps, 1, 1), emb[:4].repeat(reps, 1, 1), emb[4])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    reference = [features_to_joints(f) for f in feats]
    return MotionPipeline(model.eval(), text, "memorised"), reference


@pytest.mark.slow
def test_each_caption_generates_its_own_clip():
    pipe, reference = train_memorised_pipeline()
    for seed in (0, 1):
        # the raw decode: the fixtures' feet slide, so the clean-up (tested on its own) would move them
        motions = pipe(CAPTIONS, [2.0] * 4, [seed] * 4, cleanup=False)
        # mean per-joint distance (m) between each generated clip (rows) and each training clip (columns)
        errors = np.array([[np.linalg.norm(m.joints - ref, axis=-1).mean() for ref in reference] for m in motions])
        table = np.array2string(errors, precision=3)
        assert errors.argmin(axis=1).tolist() == [0, 1, 2, 3], f"seed {seed}: wrong nearest clip\n{table}"
        second = np.sort(errors, axis=1)[:, 1]
        assert np.all(errors.diagonal() < 0.75 * second), f"seed {seed}: right clip not clearly nearest\n{table}"
