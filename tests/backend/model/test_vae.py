import numpy as np
import pytest
import torch

from motion_fixtures import walk_clip
from motion_mamba.features import joints_to_features, mean_std
from motion_mamba.model.presets import get_preset
from motion_mamba.model.vae import MotionVAE, lengths_to_mask, vae_loss


@pytest.fixture(params=[(1, False), (4, False), (4, True)], ids=["per-frame", "4-frame-patches", "overlapped-patches"])
def vae(request) -> MotionVAE:
    torch.manual_seed(0)
    config = get_preset("test").vae
    config.patch_frames, config.patch_overlap = request.param
    return MotionVAE(config).eval()


def test_overlapped_patches_cross_fade_at_every_boundary():
    """Tokens decoding to constant but different values: plain patches jump at the boundary, overlapped ones
    blend with the sin² window (weights sum to one, so a constant decodes exactly), and the clip's ends are the
    end tokens' own values."""
    config = get_preset("test").vae
    config.patch_frames, config.patch_overlap = 4, True
    vae = MotionVAE(config)
    out = torch.zeros(1, 3, 8, config.nfeats)
    out[:, 0], out[:, 1], out[:, 2] = 1.0, 2.0, 4.0  # token i decodes to a constant over its 2P frames
    frames = vae._unpatch(out.reshape(1, 3, -1), torch.ones(1, 3, dtype=torch.bool))[0, :, 0]
    assert frames.shape == (12,)
    assert frames[0] == 1.0 and frames[-1] == 4.0 and frames[:2].eq(1.0).all() and frames[-2:].eq(4.0).all()
    steps = frames.diff()
    assert (steps >= 0).all() and steps.max() < 1.0  # monotone cross-fade, no jump of the full difference
    torch.testing.assert_close(frames[2:6], 1.0 + vae.window[:4], atol=1e-6, rtol=0)  # token 1 fading in
    # a padded third token changes nothing: the last patch is token 1's alone
    masked = vae._unpatch(out.reshape(1, 3, -1), torch.tensor([[True, True, False]]))[0, :, 0]
    torch.testing.assert_close(masked[:6], frames[:6])
    assert masked[6:10].eq(2.0).all() and masked[10:].eq(0.0).all()


def test_overlap_needs_an_even_patch():
    config = get_preset("test")
    config.vae.patch_frames, config.vae.patch_overlap = 3, True
    config.vae.max_frames = 195
    with pytest.raises(ValueError, match="patch_overlap"):
        config.validate()


def test_shapes_and_lengths(vae):
    k, d = vae.config.latent_size, vae.config.latent_dim
    x = torch.randn(3, 50, 263)
    lengths = torch.tensor([50, 20, 7])
    z, mu, logvar = vae.encode(x, lengths)
    assert z.shape == mu.shape == logvar.shape == (3, k, d)
    out = vae.decode(z, lengths)
    assert out.shape == (3, 50, 263)
    assert torch.all(out[1, 20:] == 0) and torch.all(out[2, 7:] == 0)  # padded frames are zero
    assert out[1, :20].abs().sum() > 0
    # the decoder's length is chosen at decode time, up to max_frames
    assert vae.decode(z[:1], torch.tensor([196])).shape == (1, 196, 263)


def test_padding_does_not_change_a_clip(vae):
    """A clip encodes and decodes the same alone or padded in a batch with a longer clip (masks are honoured)."""
    x = torch.randn(2, 60, 263)
    lengths = torch.tensor([60, 25])
    _, mu_batch, _ = vae.encode(x, lengths, sample=False)
    _, mu_alone, _ = vae.encode(x[1:, :25], lengths[1:], sample=False)
    torch.testing.assert_close(mu_batch[1:], mu_alone, atol=1e-5, rtol=1e-4)
    out_batch = vae.decode(mu_batch, lengths)
    out_alone = vae.decode(mu_alone, lengths[1:])
    torch.testing.assert_close(out_batch[1:, :25], out_alone, atol=1e-5, rtol=1e-4)


def test_sampling_uses_the_posterior(vae):
    x = torch.randn(2, 30, 263)
    lengths = torch.tensor([30, 30])
    z1, mu, _ = vae.encode(x, lengths, generator=torch.Generator().manual_seed(1))
    z2, _, _ = vae.encode(x, lengths, generator=torch.Generator().manual_seed(1))
    z3, _, _ = vae.encode(x, lengths, generator=torch.Generator().manual_seed(2))
    assert torch.equal(z1, z2) and not torch.equal(z1, z3) and not torch.equal(z1, mu)


def test_rejects_lengths_out_of_range(vae):
    with pytest.raises(ValueError, match="lengths"):
        vae.decode(torch.zeros(1, 2, vae.config.latent_dim), torch.tensor([197]))
    with pytest.raises(ValueError, match="lengths"):
        vae.encode(torch.zeros(1, 5, 263), torch.tensor([0]))


def test_mask():
    assert lengths_to_mask(torch.tensor([2, 0, 3]), 4).tolist() == [
        [True, True, False, False], [False, False, False, False], [True, True, True, False]
    ]


def test_a_training_step_decreases_the_loss():
    torch.manual_seed(0)
    vae = MotionVAE(get_preset("test").vae)
    clips = [joints_to_features(walk_clip(41, speed=s)) for s in (0.5, 1.5)]
    mean, std = (torch.tensor(a) for a in mean_std(clips))
    std = std.clamp_min(1e-2)
    x = (torch.tensor(np.stack(clips)) - mean) / std
    x[1, 30:] = 0  # a padded clip
    lengths = torch.tensor([40, 30])
    opt = torch.optim.AdamW(vae.parameters(), lr=1e-3)
    torch.manual_seed(1)
    first = vae_loss(vae, x, lengths, mean, std)
    assert set(first) == {"total", "rec", "joint", "kl"} and all(torch.isfinite(v) for v in first.values())
    for _ in range(3):
        torch.manual_seed(1)  # the same posterior sample each time: a fixed objective
        loss = vae_loss(vae, x, lengths, mean, std)["total"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    torch.manual_seed(1)
    assert vae_loss(vae, x, lengths, mean, std)["total"] < first["total"]
