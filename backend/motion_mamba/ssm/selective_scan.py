"""The selective scan (Mamba's S6 recurrence) on any device, plus its readable reference.

For every batch b, channel d and state n (A real, B and C input-dependent):

    h_t = exp(Δ_t A) ⊙ h_{t-1} + Δ_t B_t x_t          (zero-order-hold discretisation, h_{-1} = 0)
    y_t = C_t · h_t + D x_t,     out_t = y_t · silu(z_t)

`selective_scan` has the signature of mamba-ssm's `selective_scan_ref`. Backends (see `dispatch`):

- "mamba_ssm": CUDA tensors with mamba-ssm importable → its fused `selective_scan_fn` does everything.
- "kernel": a small C kernel compiled on first use (`cpu_kernel`) with a hand-written reverse-time backward.
- "torch": `torch_scan` below, the pure-PyTorch fallback (no compiler needed): `_TorchScan` runs the
  recurrence, the elementwise parts are ordinary autograd ops.

Why not autograd through the time loop: indexing `dA[:, :, t]` in a loop makes backward allocate a full
zero tensor per step (O(L²) memory traffic), which made fwd+bwd ~25× slower than a transformer layer here.
`_TorchScan` runs the loop without a graph and does the backward as one reverse-time loop over the same
precomputed tensors, with all other gradients as vectorised reductions.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from . import dispatch


def selective_scan_ref(
    u: Tensor,
    delta: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    D: Tensor | None = None,
    z: Tensor | None = None,
    delta_bias: Tensor | None = None,
    delta_softplus: bool = False,
) -> Tensor:
    """The recurrence written out step by step (autograd through a Python loop): the test oracle.

    u, delta, z: (batch, dim, L); A: (dim, N) real; B, C: (batch, N, L) or (batch, G, N, L) with dim % G == 0;
    D, delta_bias: (dim,). Returns (batch, dim, L) in u's dtype; computes in float32 (float64 stays float64).
    """
    dtype_in = u.dtype
    ct = torch.float64 if dtype_in == torch.float64 else torch.float32
    u, delta, A = u.to(ct), delta.to(ct), A.to(ct)
    if delta_bias is not None:
        delta = delta + delta_bias[:, None].to(ct)
    if delta_softplus:
        delta = F.softplus(delta)
    batch, dim, L = u.shape
    B, C = _per_channel(B.to(ct), dim), _per_channel(C.to(ct), dim)  # (batch, dim, N, L)
    h = u.new_zeros(batch, dim, A.shape[1])
    ys = []
    for t in range(L):
        h = torch.exp(delta[:, :, t, None] * A) * h + (delta[:, :, t] * u[:, :, t])[..., None] * B[..., t]
        ys.append((h * C[..., t]).sum(-1))
    y = torch.stack(ys, dim=-1)
    if D is not None:
        y = y + u * D[:, None].to(ct)
    if z is not None:
        y = y * F.silu(z.to(ct))
    return y.to(dtype_in)


def selective_scan(
    u: Tensor,
    delta: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    D: Tensor | None = None,
    z: Tensor | None = None,
    delta_bias: Tensor | None = None,
    delta_softplus: bool = False,
) -> Tensor:
    """Same contract as `selective_scan_ref` (and mamba-ssm's), dispatched to the fastest backend for u."""
    _check_args(u, delta, A, B, C, D, z, delta_bias)
    backend = dispatch.backend_for(u)
    if backend == "mamba_ssm":
        return dispatch.mamba_ssm_selective_scan(u, delta, A, B, C, D, z, delta_bias, delta_softplus)
    dtype_in = u.dtype
    ct = torch.float64 if dtype_in == torch.float64 else torch.float32

    def cast(t: Tensor | None) -> Tensor | None:
        return None if t is None else t.to(ct)

    # Cores take B, C as (batch, G, L, N): the N states of one time step sit next to each other.
    Bg = _grouped(B).to(ct).transpose(-1, -2).contiguous()
    Cg = _grouped(C).to(ct).transpose(-1, -2).contiguous()
    scan = dispatch.scan_function(backend)
    # The recurrence runs in float32 also under autocast (as mamba-ssm's kernel does): autocast would otherwise
    # run the cores' einsums in bf16 and hand their hand-written backward mixed dtypes.
    with torch.autocast(u.device.type, enabled=False):
        out = scan(
            u.to(ct).contiguous(), delta.to(ct).contiguous(), A.to(ct).contiguous(), Bg, Cg,
            cast(D), cast(z), cast(delta_bias), delta_softplus,
        )
    return out.to(dtype_in)


def torch_scan(
    u: Tensor,
    delta: Tensor,
    A: Tensor,
    B: Tensor,
    C: Tensor,
    D: Tensor | None,
    z: Tensor | None,
    delta_bias: Tensor | None,
    delta_softplus: bool,
) -> Tensor:
    """The "torch" backend: `_TorchScan` core plus the elementwise parts as ordinary autograd ops."""
    if delta_bias is not None:
        delta = delta + delta_bias[:, None]
    if delta_softplus:
        delta = F.softplus(delta)  # linear above 20, so large Δ stays finite
    y = _TorchScan.apply(u, delta, A, B, C)
    if D is not None:
        y = y + u * D[:, None]
    if z is not None:
        y = y * F.silu(z)
    return y


class _TorchScan(torch.autograd.Function):
    """Core y_t = C_t · h_t in pure PyTorch. u, delta: (b, d, L); A: (d, N); B, C: (b, G, L, N), contiguous."""

    @staticmethod
    def forward(ctx, u: Tensor, delta: Tensor, A: Tensor, B: Tensor, C: Tensor) -> Tensor:
        b, d, L = u.shape
        G, N = B.shape[1], A.shape[1]
        uv, dv = u.view(b, G, d // G, L), delta.view(b, G, d // G, L)  # channels grouped as B/C are
        dA = torch.exp(dv[..., None] * A.view(G, d // G, 1, N))  # (b, G, H, L, N)
        hs = (dv * uv)[..., None] * B[:, :, None]  # Δ B x, overwritten in place by the states h_t
        for t in range(1, L):
            hs[:, :, :, t].addcmul_(dA[:, :, :, t], hs[:, :, :, t - 1])
        y = torch.einsum("bghln,bgln->bghl", hs, C).reshape(b, d, L)
        ctx.save_for_backward(u, delta, A, B, C, dA, hs)
        return y

    @staticmethod
    def backward(ctx, dy: Tensor):
        u, delta, A, B, C, dA, hs = ctx.saved_tensors
        b, d, L = u.shape
        G, N = B.shape[1], A.shape[1]
        uv, dv = u.view(b, G, d // G, L), delta.view(b, G, d // G, L)
        dyv = dy.reshape(b, G, d // G, L)
        # dh_t = dy_t C_t + exp(Δ_{t+1} A) ⊙ dh_{t+1}: one reverse-time loop, in place.
        dh = dyv[..., None] * C[:, :, None]
        for t in range(L - 2, -1, -1):
            dh[:, :, :, t].addcmul_(dA[:, :, :, t + 1], dh[:, :, :, t + 1])
        h_prev = torch.cat([torch.zeros_like(hs[:, :, :, :1]), hs[:, :, :, :-1]], dim=3)
        d_dtA = dh * h_prev * dA  # gradient w.r.t. the exponent Δ_t A
        dh_B = torch.einsum("bghln,bgln->bghl", dh, B)
        du = (dh_B * dv).reshape(b, d, L)
        ddelta = (torch.einsum("bghln,ghn->bghl", d_dtA, A.view(G, d // G, N)) + dh_B * uv).reshape(b, d, L)
        dA_param = torch.einsum("bghln,bghl->ghn", d_dtA, dv).reshape(d, N)
        dB = torch.einsum("bghln,bghl->bgln", dh, dv * uv)
        dC = torch.einsum("bghln,bghl->bgln", hs, dyv)
        return du, ddelta, dA_param, dB, dC


def _grouped(BC: Tensor) -> Tensor:
    return BC.unsqueeze(1) if BC.dim() == 3 else BC  # (batch, G, N, L)


def _per_channel(BC: Tensor, dim: int) -> Tensor:
    g = _grouped(BC)
    return g.repeat_interleave(dim // g.shape[1], dim=1)  # (batch, dim, N, L)


def _check_args(u, delta, A, B, C, D, z, delta_bias) -> None:
    """One clear error instead of a broadcasting failure deep inside a backend."""
    if u.dim() != 3:
        raise ValueError(f"selective_scan: u must be (batch, dim, L), got shape {tuple(u.shape)}")
    batch, dim, L = u.shape
    if delta.shape != u.shape:
        raise ValueError(f"selective_scan: delta must have u's shape {tuple(u.shape)}, got {tuple(delta.shape)}")
    if A.is_complex() or A.dim() != 2 or A.shape[0] != dim:
        raise ValueError(f"selective_scan: A must be real (dim={dim}, N), got {A.dtype} {tuple(A.shape)}")
    N = A.shape[1]
    for name, t in (("B", B), ("C", C)):
        ok = t.dim() in (3, 4) and t.shape[0] == batch and t.shape[-2:] == (N, L)
        if not ok or (t.dim() == 4 and dim % t.shape[1] != 0):
            raise ValueError(
                f"selective_scan: {name} must be (batch, N, L) or (batch, G, N, L) with dim % G == 0 "
                f"(input-dependent; batch={batch}, N={N}, L={L}, dim={dim}), got {tuple(t.shape)}"
            )
    if _grouped(B).shape[1] != _grouped(C).shape[1]:
        raise ValueError(f"selective_scan: B and C must have the same number of groups, got {tuple(B.shape)}, {tuple(C.shape)}")
    for name, t in (("D", D), ("delta_bias", delta_bias)):
        if t is not None and t.shape != (dim,):
            raise ValueError(f"selective_scan: {name} must be ({dim},), got {tuple(t.shape)}")
    if z is not None and z.shape != u.shape:
        raise ValueError(f"selective_scan: z must have u's shape {tuple(u.shape)}, got {tuple(z.shape)}")
