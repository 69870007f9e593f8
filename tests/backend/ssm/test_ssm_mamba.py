"""The Mamba block is mamba-ssm's mamba_simple.Mamba: same state-dict keys/shapes/init, same output."""

import math

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from motion_mamba.ssm import Mamba, selective_scan_ref
from motion_mamba.ssm.mamba import causal_conv1d


def mamba_simple_keys(d_model, d_state=16, d_conv=4, expand=2):
    """Key set and shapes of mamba_ssm.modules.mamba_simple.Mamba (conv_bias=True, bias=False)."""
    E, R = expand * d_model, math.ceil(d_model / 16)
    return {
        "in_proj.weight": (2 * E, d_model),
        "conv1d.weight": (E, 1, d_conv),
        "conv1d.bias": (E,),
        "x_proj.weight": (R + 2 * d_state, E),
        "dt_proj.weight": (E, R),
        "dt_proj.bias": (E,),
        "A_log": (E, d_state),
        "D": (E,),
        "out_proj.weight": (d_model, E),
    }


def mamba_simple_forward(sd, x, d_state=16):
    """mamba_simple.Mamba.forward's non-fused path, transcribed, with the reference scan."""
    b, L, _ = x.shape
    R = sd["dt_proj.weight"].shape[1]
    xz = (sd["in_proj.weight"] @ x.reshape(b * L, -1).T).reshape(-1, b, L).permute(1, 0, 2)  # b d l
    A = -torch.exp(sd["A_log"].float())
    xx, z = xz.chunk(2, dim=1)
    xx = F.silu(F.conv1d(xx, sd["conv1d.weight"], sd["conv1d.bias"], padding=3, groups=xx.shape[1])[..., :L])
    x_dbl = xx.permute(0, 2, 1).reshape(b * L, -1) @ sd["x_proj.weight"].T  # (bl d)
    dt, B, C = torch.split(x_dbl, [R, d_state, d_state], dim=-1)
    dt = (sd["dt_proj.weight"] @ dt.T).reshape(-1, b, L).permute(1, 0, 2)
    B = B.reshape(b, L, d_state).permute(0, 2, 1)
    C = C.reshape(b, L, d_state).permute(0, 2, 1)
    y = selective_scan_ref(xx, dt, A, B, C, sd["D"].float(), z=z, delta_bias=sd["dt_proj.bias"].float(), delta_softplus=True)
    return y.permute(0, 2, 1) @ sd["out_proj.weight"].T


def test_state_dict_matches_mamba_simple():
    m = Mamba(64)
    assert {k: tuple(v.shape) for k, v in m.state_dict().items()} == mamba_simple_keys(64)
    assert m.A_log._no_weight_decay and m.D._no_weight_decay and m.dt_proj.bias._no_reinit


def test_initialisation_as_mamba_simple():
    m = Mamba(64, dt_min=0.002, dt_max=0.05)
    torch.testing.assert_close(m.A_log, torch.log(torch.arange(1, 17.0)).repeat(128, 1))
    assert torch.equal(m.D, torch.ones(128))
    dt = F.softplus(m.dt_proj.bias)
    assert dt.min() >= 0.002 * 0.999 and dt.max() <= 0.05 * 1.001
    assert m.dt_proj.weight.abs().max() <= 4**-0.5  # dt_rank = ceil(64/16) = 4
    assert m.x_proj.weight.shape == (4 + 32, 128)


def test_safetensors_round_trip_strict_and_same_output(backend, tmp_path):
    m = Mamba(32, d_state=8).eval()
    with torch.no_grad():  # trained-looking weights, not the init
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    save_file(m.state_dict(), tmp_path / "mamba.safetensors")
    loaded = Mamba(32, d_state=8)
    loaded.load_state_dict(load_file(tmp_path / "mamba.safetensors"), strict=True)
    x = torch.randn(2, 23, 32)
    with torch.no_grad():
        out = loaded(x)
        torch.testing.assert_close(out, m(x))
        torch.testing.assert_close(out, mamba_simple_forward(loaded.state_dict(), x, d_state=8), rtol=1e-5, atol=1e-5)


def test_foreign_state_dict_is_rejected_strictly():
    sd = Mamba(32).state_dict()
    sd["x_proj.bias"] = torch.zeros(1)
    with pytest.raises(RuntimeError, match="x_proj.bias"):
        Mamba(32).load_state_dict(sd, strict=True)


def test_block_trains(backend):
    m = Mamba(16, d_state=4)
    x = torch.randn(3, 9, 16)
    m(x).square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in m.parameters())
    assert m.A_log.grad.abs().sum() > 0 and m.dt_proj.bias.grad.abs().sum() > 0


def test_causal(backend):
    """Output at t depends only on inputs up to t (conv padding and scan direction)."""
    m = Mamba(16, d_state=4).eval()
    x = torch.randn(1, 12, 16)
    y = x.clone()
    y[:, 7:] = torch.randn(1, 5, 16)
    with torch.no_grad():
        torch.testing.assert_close(m(x)[:, :7], m(y)[:, :7])


@pytest.mark.parametrize("shape", [(2, 6, 9), (3, 4, 2)])  # L shorter than the kernel too
def test_causal_conv1d_equals_padded_conv(backend, shape):
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    w = torch.randn(shape[1], 1, 4, dtype=torch.float64, requires_grad=True)
    b = torch.randn(shape[1], dtype=torch.float64, requires_grad=True)
    expected = F.conv1d(x, w, b, padding=3, groups=shape[1])[..., : shape[2]]
    torch.testing.assert_close(causal_conv1d(x, w, b), expected)
    torch.testing.assert_close(causal_conv1d(x, w, None), expected - b[:, None])
    assert torch.autograd.gradcheck(causal_conv1d, (x, w, b))


def test_causal_conv1d_multithreaded(c_kernel):
    from motion_mamba.ssm import dispatch

    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    dispatch.set_backend("kernel")
    try:
        x = torch.randn(2, 64, 300, requires_grad=True)  # 2·64·300·4 taps: split over 2 threads
        w = torch.randn(64, 1, 4, requires_grad=True)
        b = torch.randn(64, requires_grad=True)
        out = causal_conv1d(x, w, b)
        expected = F.conv1d(x, w, b, padding=3, groups=64)[..., :300]
        torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
        g = torch.randn_like(out)
        for got, want in zip(torch.autograd.grad(out, (x, w, b), g), torch.autograd.grad(expected, (x, w, b), g)):
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    finally:
        torch.set_num_threads(threads)
        dispatch.set_backend(None)
