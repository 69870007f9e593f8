import pytest
import torch
from torch import nn

from motion_mamba.diffusion import LatentDiffusion
from motion_mamba.model.baseline import build_denoiser
from motion_mamba.model.config import DiffusionConfig
from motion_mamba.model.presets import get_preset


pytestmark = pytest.mark.usefixtures("one_torch_thread")


class Recorder(nn.Module):
    """ε̂ = a·z + text[:, 0, :1]: known outputs for the conditional and unconditional rows."""

    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(0.5))
        self.calls: list[tuple[int, torch.Tensor]] = []

    def forward(self, z, t, text):
        self.calls.append((z.shape[0], t.clone()))
        return self.a * z + text[:, :1, :1]  # text (B, S, D): the first vector's first entry, per latent token


def test_schedulers_follow_mld():
    d = LatentDiffusion(DiffusionConfig())
    c = d.train_scheduler.config
    assert (c.num_train_timesteps, c.beta_start, c.beta_end, c.beta_schedule) == (1000, 0.00085, 0.012, "scaled_linear")
    assert c.prediction_type == "epsilon"
    ddim = d.make_scheduler("ddim")
    assert ddim.config.set_alpha_to_one is False and ddim.config.steps_offset == 1
    assert d.make_scheduler("dpm++").config.algorithm_type == "dpmsolver++"
    assert d.default_steps("ddim") == 50
    with pytest.raises(ValueError, match="solver must be one of"):
        d.make_scheduler("euler")


def test_guidance_combines_both_halves_of_one_batched_call():
    d = LatentDiffusion(DiffusionConfig())
    den = Recorder()
    text, null = torch.tensor([[[2.0, 0.0]], [[3.0, 0.0]]]), torch.tensor([[1.0, 0.0]])  # (B, S=1, D), (S, D)
    noise = torch.randn(2, 2, 2)
    d.sample(den, noise, text, null, guidance=7.5, solver="ddim", steps=4)
    assert [n for n, _ in den.calls] == [2] * 8  # per step and sample: conditional + unconditional together
    # the same run by hand: ε = ε_u + s (ε_c − ε_u) with ε_c − ε_u = text − null
    s = d.make_scheduler("ddim")
    s.set_timesteps(4)
    z = noise.clone()
    for t in s.timesteps:
        eps = 0.5 * z + null[0, 0] + 7.5 * (text[:, :1, :1] - null[0, 0])
        z = s.step(eps, t, z).prev_sample
    torch.testing.assert_close(d.sample(Recorder(), noise, text, null, 7.5, "ddim", 4), z)


def test_guidance_one_is_the_conditional_model_alone():
    d = LatentDiffusion(DiffusionConfig())
    den = Recorder()
    d.sample(den, torch.randn(3, 2, 2), torch.randn(3, 1, 2), torch.zeros(1, 2), guidance=1.0, steps=3)
    assert [n for n, _ in den.calls] == [1] * 9


def test_callback_counts_steps_and_can_stop_sampling():
    d = LatentDiffusion(DiffusionConfig())
    seen = []
    d.sample(Recorder(), torch.randn(1, 2, 2), torch.randn(1, 1, 2), torch.zeros(1, 2), steps=5,
             callback=lambda i, n: seen.append((i, n)))
    assert seen == [(i, 5) for i in range(1, 6)]

    class Stop(Exception):
        pass

    def stop(i, n):
        raise Stop

    den = Recorder()
    with pytest.raises(Stop):
        d.sample(den, torch.randn(1, 2, 2), torch.randn(1, 1, 2), torch.zeros(1, 2), steps=5, callback=stop)
    assert len(den.calls) == 1  # stopped within one step


@pytest.mark.parametrize("solver", ["ddim", "dpm++"])
def test_sampling_is_deterministic(solver):
    torch.manual_seed(0)
    den = build_denoiser(get_preset("test").denoiser).eval()
    d = LatentDiffusion(DiffusionConfig())
    noise, text = torch.randn(2, 2, 32), torch.randn(2, 3, 32)  # the test preset: pooled + 2 text segments
    a = d.sample(den, noise, text, torch.zeros(3, 32), solver=solver, steps=6)
    b = d.sample(den, noise, text, torch.zeros(3, 32), solver=solver, steps=6)
    assert torch.equal(a, b) and torch.isfinite(a).all()


def test_rejects_bad_arguments():
    d = LatentDiffusion(DiffusionConfig())
    args = (Recorder(), torch.randn(1, 2, 2), torch.randn(1, 1, 2), torch.zeros(1, 2))
    with pytest.raises(ValueError, match="guidance"):
        d.sample(*args, guidance=float("nan"))
    with pytest.raises(ValueError, match="steps"):
        d.sample(*args, steps=0)


@pytest.mark.parametrize("arch", ["mamba", "transformer"])
def test_a_training_step_decreases_the_loss_on_a_fixed_batch(arch):
    torch.manual_seed(0)
    den = build_denoiser(get_preset("test", arch=arch).denoiser)
    d = LatentDiffusion(DiffusionConfig())
    z0, text = torch.randn(8, 2, 32), torch.randn(8, 3, 32)
    opt = torch.optim.AdamW(den.parameters(), lr=1e-3)

    def loss():
        return d.training_loss(den, z0, text, torch.zeros(3, 32), generator=torch.Generator().manual_seed(0))

    first = loss().item()
    for _ in range(5):
        opt.zero_grad()
        l = loss()
        l.backward()
        opt.step()
    assert loss().item() < first


def test_condition_dropout_uses_the_null_text():
    null = torch.tensor([[5.0, 0.0], [6.0, 0.0]])  # (S, D): every text vector is replaced
    den = Recorder()
    z = torch.randn(4, 2, 2)
    gen = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    drop_all, keep_all = (LatentDiffusion(DiffusionConfig(cond_drop_prob=p)) for p in (1.0, 0.0))
    l_drop = drop_all.training_loss(den, z, torch.randn(4, 2, 2), null, gen())
    l_null = keep_all.training_loss(den, z, null.expand(4, 2, 2), null, gen())
    assert torch.equal(l_drop, l_null)
