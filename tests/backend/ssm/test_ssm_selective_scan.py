"""The dispatched scan must equal the step-by-step recurrence (values and gradients) on every CPU backend."""

import pytest
import torch

from motion_mamba.ssm import selective_scan, selective_scan_ref


def scan_inputs(b=2, d=6, L=17, N=4, groups=None, dtype=torch.float32, dt_scale=1.0):
    """Random inputs in mamba's layout; B, C (b, N, L) or grouped (b, G, N, L)."""
    bc = (b, N, L) if groups is None else (b, groups, N, L)
    return dict(
        u=torch.randn(b, d, L, dtype=dtype),
        delta=torch.randn(b, d, L, dtype=dtype) * dt_scale,
        A=-torch.rand(d, N, dtype=dtype) * 4 - 0.1,
        B=torch.randn(bc, dtype=dtype),
        C=torch.randn(bc, dtype=dtype),
        D=torch.randn(d, dtype=dtype),
        z=torch.randn(b, d, L, dtype=dtype),
        delta_bias=torch.randn(d, dtype=dtype) * 0.5,
    )


OPTIONS = [
    dict(),  # bare recurrence: no D, z, bias, softplus
    dict(D=True),
    dict(z=True),
    dict(D=True, z=True, delta_bias=True, delta_softplus=True),  # as the Mamba block calls it
]


def pick(inputs, opts):
    kw = {k: inputs[k] for k in ("u", "delta", "A", "B", "C")}
    if opts.get("delta_softplus"):
        kw["delta_softplus"] = True
    else:
        kw["delta"] = kw["delta"].abs()  # without softplus Δ must be positive, as in practice
    for k in ("D", "z", "delta_bias"):
        if opts.get(k):
            kw[k] = inputs[k]
    return kw


@pytest.mark.parametrize("opts", OPTIONS, ids=["bare", "D", "z", "full"])
@pytest.mark.parametrize("groups", [None, 2])
def test_forward_and_gradients_match_reference(backend, opts, groups):
    kw = pick(scan_inputs(groups=groups), opts)
    tensors = {k: v.requires_grad_() for k, v in kw.items() if torch.is_tensor(v)}
    out, ref = selective_scan(**kw), selective_scan_ref(**kw)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    w = torch.randn_like(ref)
    grads = torch.autograd.grad((out * w).sum(), list(tensors.values()))
    grads_ref = torch.autograd.grad((ref * w).sum(), list(tensors.values()))
    for name, g, gr in zip(tensors, grads, grads_ref):
        torch.testing.assert_close(g, gr, rtol=1e-4, atol=1e-4 * gr.abs().max().item(), msg=f"d{name}")


def test_long_sequence_relative_error(backend):
    kw = pick(scan_inputs(b=1, d=16, L=512, N=16), OPTIONS[-1])
    out, ref = selective_scan(**kw), selective_scan_ref(**kw)
    assert ((out - ref).abs().max() / ref.abs().max()).item() < 1e-5


def test_gradcheck_float64(backend):
    kw = pick(scan_inputs(b=2, d=4, L=6, N=3, groups=2, dtype=torch.float64), OPTIONS[-1])
    names = list(k for k, v in kw.items() if torch.is_tensor(v))
    tensors = [kw[k].requires_grad_() for k in names]

    def f(*ts):
        return selective_scan(**{**kw, **dict(zip(names, ts))})

    assert torch.autograd.gradcheck(f, tensors, eps=1e-6, atol=1e-6, rtol=1e-5)


def test_large_delta_stays_finite(backend):
    kw = pick(scan_inputs(b=1, d=8, L=64, N=8, dt_scale=1e4), OPTIONS[-1])  # softplus(Δ) up to ~4e4
    tensors = [v.requires_grad_() for v in kw.values() if torch.is_tensor(v)]
    out, ref = selective_scan(**kw), selective_scan_ref(**kw)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-4 * ref.abs().max().item())
    grads = torch.autograd.grad(out.sum(), tensors)
    assert all(torch.isfinite(g).all() for g in grads)


def test_bfloat16_inputs_compute_in_float32(backend):
    kw = pick(scan_inputs(), OPTIONS[-1])
    lo = {k: (v.bfloat16() if torch.is_tensor(v) else v) for k, v in kw.items()}
    out = selective_scan(**lo)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), selective_scan_ref(**lo).float(), rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(u=torch.randn(2, 6)), "u must be"),
        (dict(delta=torch.randn(2, 6, 5)), "delta must"),
        (dict(A=torch.randn(5, 4)), "A must be real"),
        (dict(B=torch.randn(6, 4)), "B must be"),
        (dict(C=torch.randn(2, 4, 4, 17)), "C must be"),  # 6 channels not divisible into 4 groups
        (dict(D=torch.randn(3)), "D must be"),
    ],
)
def test_bad_shapes_name_the_argument(change, message):
    kw = {**pick(scan_inputs(), dict(D=True)), **change}
    with pytest.raises(ValueError, match=message):
        selective_scan(**kw)


def test_multithreaded_kernel_matches_reference(c_kernel):
    """Big enough that the C kernel splits rows over 2 threads (per-thread dA/dB/dC slabs summed)."""
    from motion_mamba.ssm import cpu_kernel, dispatch

    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    dispatch.set_backend("kernel")
    try:
        kw = pick(scan_inputs(b=2, d=16, L=300, N=16, groups=2), OPTIONS[-1])
        assert cpu_kernel._threads(2 * 16 * 300 * 16) == 2
        tensors = {k: v.requires_grad_() for k, v in kw.items() if torch.is_tensor(v)}
        out, ref = selective_scan(**kw), selective_scan_ref(**kw)
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5 * ref.abs().max().item())
        w = torch.randn_like(ref)
        grads = torch.autograd.grad((out * w).sum(), list(tensors.values()))
        grads_ref = torch.autograd.grad((ref * w).sum(), list(tensors.values()))
        for name, g, gr in zip(tensors, grads, grads_ref):
            torch.testing.assert_close(g, gr, rtol=1e-4, atol=1e-4 * gr.abs().max().item(), msg=f"d{name}")
    finally:
        torch.set_num_threads(threads)
        dispatch.set_backend(None)


def test_mamba_block_trains_under_bf16_autocast(backend):
    """Autocast must not reach the scan's cores (their einsums would run in bf16 and the hand-written backward
    would get mixed dtypes): the recurrence stays float32, as in mamba-ssm's kernel."""
    from motion_mamba.ssm import MultiScanMamba

    block = MultiScanMamba(16, 2, d_state=4)
    x = torch.randn(2, 24, 16, requires_grad=True)
    ref = block(x).detach()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = block(x)
    assert (out.float() - ref).norm() / ref.norm() < 3e-2
    out.float().square().mean().backward()
    assert torch.isfinite(x.grad).all() and all(torch.isfinite(p.grad).all() for p in block.parameters())
