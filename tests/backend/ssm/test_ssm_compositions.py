"""HTM multi-scan and BSM bidirectional scan equal their definitions written as separate single scans."""

import torch
import torch.nn.functional as F

from motion_mamba.ssm import BiMamba, Mamba, MultiScanMamba, selective_scan_ref


def single_ssm(m, i, x):
    """SSM i of a composition alone, from its own parameter slices: x (B, E, L) pre-conv -> (B, E, L)."""
    E, N, R, L = m.d_inner, m.d_state, m.dt_rank, x.shape[-1]
    w, b = m.conv1d.weight[i * E : (i + 1) * E], m.conv1d.bias[i * E : (i + 1) * E]
    x = F.silu(F.conv1d(x, w, b, padding=m.d_conv - 1, groups=E)[..., :L])
    x_dbl = torch.einsum("re,bel->brl", m.x_proj_weight[i], x)
    dt = torch.einsum("er,brl->bel", m.dt_proj_weight[i], x_dbl[:, :R])
    A = -torch.exp(m.A_log[i])
    return selective_scan_ref(
        x, dt, A, x_dbl[:, R : R + N], x_dbl[:, R + N :], m.D[i], delta_bias=m.dt_proj_bias[i], delta_softplus=True
    )


def split_in_proj(m, h):
    return m.in_proj(h).transpose(1, 2).chunk(2, dim=1)


def test_multi_scan_equals_sum_of_separate_scans(backend):
    m = MultiScanMamba(32, n_scans=3, d_state=8)
    h = torch.randn(4, 5, 32)  # HTM-like: few tokens
    with torch.no_grad():
        x, z = split_in_proj(m, h)
        y = sum(single_ssm(m, i, x) for i in range(3))
        expected = m.out_proj((y * F.silu(z)).transpose(1, 2))
        torch.testing.assert_close(m(h), expected, rtol=1e-5, atol=1e-5)


def test_multi_scan_with_one_scan_is_a_mamba_block(backend):
    mamba = Mamba(32, d_state=8)
    multi = MultiScanMamba(32, n_scans=1, d_state=8)
    sd = mamba.state_dict()
    with torch.no_grad():
        multi.in_proj.load_state_dict({"weight": sd["in_proj.weight"]})
        multi.out_proj.load_state_dict({"weight": sd["out_proj.weight"]})
        multi.conv1d.load_state_dict({"weight": sd["conv1d.weight"], "bias": sd["conv1d.bias"]})
        multi.x_proj_weight.copy_(sd["x_proj.weight"][None])
        multi.dt_proj_weight.copy_(sd["dt_proj.weight"][None])
        multi.dt_proj_bias.copy_(sd["dt_proj.bias"][None])
        multi.A_log.copy_(sd["A_log"][None])
        multi.D.copy_(sd["D"][None])
        h = torch.randn(2, 11, 32)
        torch.testing.assert_close(multi(h), mamba(h), rtol=1e-5, atol=1e-6)


def test_bidirectional_backward_branch_is_forward_scan_of_flipped_input(backend):
    m = BiMamba(4, d_state=8)  # BSM-like: tiny width, long sequence (latent channels)
    h = torch.randn(3, 40, 4)
    with torch.no_grad():
        x, z = split_in_proj(m, h)
        y = single_ssm(m, 0, x) + single_ssm(m, 1, x.flip(-1)).flip(-1)
        expected = m.out_proj((y * F.silu(z)).transpose(1, 2))
        torch.testing.assert_close(m(h), expected, rtol=1e-5, atol=1e-5)


def test_bidirectional_is_symmetric_under_time_reversal(backend):
    """Swapping the two directions' parameters and reversing time reverses the output."""
    m, swapped = BiMamba(8, d_state=4), BiMamba(8, d_state=4)
    swapped.load_state_dict(m.state_dict())
    E = m.d_inner
    with torch.no_grad():
        for name in ("x_proj_weight", "dt_proj_weight", "dt_proj_bias", "A_log", "D"):
            getattr(swapped, name).copy_(getattr(m, name).flip(0))
        swapped.conv1d.weight.copy_(torch.cat([m.conv1d.weight[E:], m.conv1d.weight[:E]]))
        swapped.conv1d.bias.copy_(torch.cat([m.conv1d.bias[E:], m.conv1d.bias[:E]]))
        h = torch.randn(2, 15, 8)
        torch.testing.assert_close(swapped(h.flip(1)), m(h).flip(1), rtol=1e-5, atol=1e-6)


def test_compositions_train_and_keep_scans_isolated(backend):
    m = MultiScanMamba(16, n_scans=2, d_state=4)
    m(torch.randn(2, 6, 16)).square().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in m.parameters())
    # scan 1's parameters get their own gradient (not shared with scan 0)
    assert not torch.allclose(m.x_proj_weight.grad[0], m.x_proj_weight.grad[1])
