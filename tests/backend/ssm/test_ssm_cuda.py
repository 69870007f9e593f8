"""The CUDA path of the selective scan: every backend that runs on a GPU ("torch" always, "mamba_ssm" when
mamba-ssm imports) equals the step-by-step recurrence, and a Mamba block under bf16 autocast stays close to float32.
Skipped on machines without CUDA (CI); run them on a GPU machine."""

import pytest
import torch

from motion_mamba.ssm import BiMamba, Mamba, MultiScanMamba, backend_for, dispatch, selective_scan, selective_scan_ref

pytestmark = [pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
              pytest.mark.usefixtures("exact_float32")]

GPU_BACKENDS = ["torch", pytest.param("mamba_ssm", marks=pytest.mark.skipif(
    not dispatch.mamba_ssm_available(), reason="mamba-ssm not importable"))]


@pytest.fixture(params=GPU_BACKENDS)
def gpu_backend(request):
    dispatch.set_backend(request.param)
    yield request.param
    dispatch.set_backend(None)


def _inputs(b=2, d=16, L=64, N=8, groups=None):
    bc = (b, N, L) if groups is None else (b, groups, N, L)
    return dict(u=torch.randn(b, d, L), delta=torch.randn(b, d, L) * 0.5, A=-torch.rand(d, N) * 4 - 0.1,
                B=torch.randn(bc), C=torch.randn(bc), D=torch.randn(d), z=torch.randn(b, d, L),
                delta_bias=torch.randn(d) * 0.5, delta_softplus=True)


@pytest.mark.parametrize("groups", [None, 2])
def test_scan_on_cuda_matches_the_recurrence(gpu_backend, groups):
    cpu = _inputs(groups=groups)
    ref_in = {k: v.double().requires_grad_() if torch.is_tensor(v) else v for k, v in cpu.items()}
    gpu_in = {k: v.cuda().requires_grad_() if torch.is_tensor(v) else v for k, v in cpu.items()}
    assert backend_for(gpu_in["u"]) == gpu_backend
    out, ref = selective_scan(**gpu_in), selective_scan_ref(**ref_in)
    torch.testing.assert_close(out.cpu().double(), ref.detach(), rtol=6e-4, atol=2e-3)
    w = torch.randn(ref.shape, dtype=torch.float64)
    grads = torch.autograd.grad((out * w.cuda().float()).sum(), [v for v in gpu_in.values() if torch.is_tensor(v)])
    refs = torch.autograd.grad((ref * w).sum(), [v for v in ref_in.values() if torch.is_tensor(v)])
    for name, g, gr in zip([k for k, v in cpu.items() if torch.is_tensor(v)], grads, refs):
        torch.testing.assert_close(g.cpu().double(), gr, rtol=1e-3, atol=1e-3 * gr.abs().max().item(),
                                   msg=f"d{name}")


BLOCKS = {"Mamba": lambda: Mamba(32, d_state=8, d_conv=4, expand=2),
          "HTM": lambda: MultiScanMamba(32, 3, d_state=8, d_conv=4, expand=2),
          "BSM": lambda: BiMamba(32, d_state=8, d_conv=4, expand=2)}


@pytest.mark.parametrize("name", BLOCKS)
def test_block_on_cuda_matches_cpu_and_bf16_autocast_stays_close(gpu_backend, name):
    torch.manual_seed(0)
    block = BLOCKS[name]()
    x = torch.randn(3, 50, 32)
    dispatch.set_backend(None)  # the CPU side runs its own best backend
    ref = block(x)
    dispatch.set_backend(gpu_backend)
    gpu = block.cuda()
    out = gpu(x.cuda())
    torch.testing.assert_close(out.cpu(), ref.detach(), rtol=1e-3, atol=1e-3)
    xg = x.cuda().requires_grad_()
    with torch.autocast("cuda", dtype=torch.bfloat16):
        low = gpu(xg)
    err = (low.float() - out.detach()).norm() / out.detach().norm()
    assert err < 3e-2, f"bf16 relative error {err:.3g}"
    low.float().square().mean().backward()
    assert torch.isfinite(xg.grad).all() and all(torch.isfinite(p.grad).all() for p in gpu.parameters())


@pytest.mark.skipif(not dispatch.mamba_ssm_available(), reason="mamba-ssm not importable")
def test_mamba_ssm_module_weights_load_and_give_the_same_output():
    """The parameter names are mamba-ssm's: its own Mamba module's state dict loads strictly and computes the same."""
    try:
        from mamba_ssm.modules.mamba_simple import Mamba as TheirMamba
    except Exception as e:  # noqa: BLE001 - the package's other modules may not import on this torch
        pytest.skip(f"mamba_ssm.modules.mamba_simple does not import: {e}")
    torch.manual_seed(0)
    theirs = TheirMamba(32, d_state=8, d_conv=4, expand=2).cuda()
    ours = Mamba(32, d_state=8, d_conv=4, expand=2).cuda()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, 40, 32, device="cuda")
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-3, atol=1e-3)
