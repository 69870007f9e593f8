"""The Mamba block, parameter-for-parameter mamba-ssm's `modules/mamba_simple.py` `Mamba`.

Same constructor, parameter names, shapes and initialisation, so a state dict trained with mamba-ssm on a GPU
loads with `strict=True` and gives the same output here on CPU. Data flow (B batch, L length, E = expand·d_model):

    x, z = in_proj(hidden).chunk(2)                      (B, E, L) each
    x = silu(causal depthwise conv1d(x))
    Δ, B, C = dt_proj(x_proj(x)[:dt_rank]), x_proj(x)[dt_rank:dt_rank+N], x_proj(x)[-N:]
    y = selective_scan(x, Δ, A=-exp(A_log), B, C, D, z, delta_bias=dt_proj.bias, softplus)
    out = out_proj(y)

`ssm_scans` is that middle part for k independent SSMs at once (used by `compositions` too); the Mamba block
is its k = 1 case. Not ported: the recurrent `step`/inference cache (diffusion never decodes token by token).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from . import dispatch
from .selective_scan import selective_scan


class Mamba(nn.Module):
    def __init__(
        self,
        d_model: int,
        d_state: int = 16,
        d_conv: int = 4,
        expand: int = 2,
        dt_rank: int | str = "auto",
        dt_min: float = 0.001,
        dt_max: float = 0.1,
        dt_init: str = "random",
        dt_scale: float = 1.0,
        dt_init_floor: float = 1e-4,
        conv_bias: bool = True,
        bias: bool = False,
        use_fast_path: bool = True,  # accepted for mamba_simple compatibility; dispatch decides
        layer_idx: int | None = None,
        device=None,
        dtype=None,
    ):
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        self.d_model = d_model
        self.d_state = d_state
        self.d_conv = d_conv
        self.expand = expand
        self.d_inner = int(self.expand * self.d_model)
        self.dt_rank = math.ceil(self.d_model / 16) if dt_rank == "auto" else int(dt_rank)
        self.use_fast_path = use_fast_path
        self.layer_idx = layer_idx

        self.in_proj = nn.Linear(self.d_model, self.d_inner * 2, bias=bias, **factory_kwargs)
        self.conv1d = nn.Conv1d(
            in_channels=self.d_inner,
            out_channels=self.d_inner,
            bias=conv_bias,
            kernel_size=d_conv,
            groups=self.d_inner,
            padding=d_conv - 1,
            **factory_kwargs,
        )
        self.activation = "silu"
        self.act = nn.SiLU()
        self.x_proj = nn.Linear(self.d_inner, self.dt_rank + self.d_state * 2, bias=False, **factory_kwargs)
        self.dt_proj = nn.Linear(self.dt_rank, self.d_inner, bias=True, **factory_kwargs)
        with torch.no_grad():
            init_dt_proj(self.dt_proj.weight, self.dt_proj.bias, dt_init, dt_scale, dt_min, dt_max, dt_init_floor)
        # Our initialization would set all Linear.bias to zero, need to mark this one as _no_reinit
        self.dt_proj.bias._no_reinit = True

        self.A_log = nn.Parameter(s4d_real_A_log(self.d_inner, self.d_state, device))  # Keep A_log in fp32
        self.A_log._no_weight_decay = True
        self.D = nn.Parameter(torch.ones(self.d_inner, device=device))  # "skip" parameter, fp32
        self.D._no_weight_decay = True
        self.out_proj = nn.Linear(self.d_inner, self.d_model, bias=bias, **factory_kwargs)

    def forward(self, hidden_states: Tensor) -> Tensor:
        """hidden_states: (B, L, d_model) -> (B, L, d_model)"""
        L = hidden_states.shape[1]
        x, z = self.in_proj(hidden_states).transpose(1, 2).chunk(2, dim=1)  # (B, E, L) each
        x = self.act(causal_conv1d(x, self.conv1d.weight, self.conv1d.bias))
        y = ssm_scans(
            x,
            self.x_proj.weight[None],
            self.dt_proj.weight[None],
            self.dt_proj.bias,
            self.A_log,
            self.D,
            self.dt_rank,
            z=z,
        )
        return self.out_proj(y.transpose(1, 2))


def ssm_scans(
    x: Tensor,
    x_proj_weight: Tensor,
    dt_proj_weight: Tensor,
    dt_proj_bias: Tensor,
    A_log: Tensor,
    D: Tensor,
    dt_rank: int,
    z: Tensor | None = None,
) -> Tensor:
    """k isolated selective SSMs in one scan call.

    x: (B, k·E, L), channels [i·E, (i+1)·E) feed SSM i; x_proj_weight: (k, R + 2N, E); dt_proj_weight: (k, E, R);
    dt_proj_bias, D: (k·E,); A_log: (k·E, N). Returns y (B, k·E, L) (gated by silu(z) if z is given). The k
    SSMs' B and C become the scan's k groups, so each SSM sees only its own input-dependent B_t, C_t.
    """
    Bsz, kE, L = x.shape
    k, _, E = x_proj_weight.shape
    N = A_log.shape[-1]
    # Projections token-major, one (B·L, E) matmul per SSM (not B·k tiny ones); as mamba_simple: "(b l) d".
    xt = x.reshape(Bsz, k, E, L).permute(1, 0, 3, 2).reshape(k, Bsz * L, E)
    x_dbl = torch.bmm(xt, x_proj_weight.transpose(1, 2))  # (k, B·L, R+2N)
    dt = torch.bmm(x_dbl[..., :dt_rank], dt_proj_weight.transpose(1, 2))  # dt_proj without bias: the scan adds it
    dt = dt.view(k, Bsz, L, E).permute(1, 0, 3, 2).reshape(Bsz, kE, L)
    B, C = x_dbl[..., dt_rank:].reshape(k, Bsz, L, 2 * N).permute(1, 0, 3, 2).split(N, dim=2)  # (B, k, N, L) each
    A = -torch.exp(A_log.float())  # (k·E, N)
    return selective_scan(
        x, dt, A, B, C, D.float(), z=z, delta_bias=dt_proj_bias.float(), delta_softplus=True
    )


def causal_conv1d(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """mamba_simple's `conv1d(x)[..., :L]`: depthwise, padded d_conv-1 on both sides, look-ahead outputs dropped.
    x: (B, C, L), weight: (C, 1, d_conv). On the "kernel" backend a C loop (oneDNN's depthwise conv backward
    is 2-10x slower at the denoiser's shapes)."""
    if dispatch.backend_for(x) == "kernel" and x.dtype in (torch.float32, torch.float64) and weight.dtype == x.dtype:
        from .cpu_kernel import kernel_causal_conv1d

        return kernel_causal_conv1d(x, weight, bias)
    return F.conv1d(x, weight, bias, padding=weight.shape[-1] - 1, groups=x.shape[1])[..., : x.shape[-1]]


def init_dt_proj(
    weight: Tensor, bias: Tensor, dt_init: str, dt_scale: float, dt_min: float, dt_max: float, dt_init_floor: float
) -> None:
    """mamba_simple's dt_proj init, in place: weight ~ ±dt_rank^-0.5·dt_scale; softplus(bias) log-uniform in
    [dt_min, dt_max] (bias = inverse softplus, https://github.com/pytorch/pytorch/issues/72759)."""
    dt_init_std = weight.shape[-1] ** -0.5 * dt_scale
    if dt_init == "constant":
        nn.init.constant_(weight, dt_init_std)
    elif dt_init == "random":
        nn.init.uniform_(weight, -dt_init_std, dt_init_std)
    else:
        raise ValueError(f"dt_init must be 'random' or 'constant', got {dt_init!r}")
    dt = torch.exp(
        torch.rand(bias.shape, device=bias.device, dtype=bias.dtype) * (math.log(dt_max) - math.log(dt_min))
        + math.log(dt_min)
    ).clamp(min=dt_init_floor)
    bias.copy_(dt + torch.log(-torch.expm1(-dt)))


def s4d_real_A_log(d_inner: int, d_state: int, device=None) -> Tensor:
    """S4D-real: A = -(1, 2, …, N) for every channel, stored as log(1..N) in float32."""
    A = torch.arange(1, d_state + 1, dtype=torch.float32, device=device).repeat(d_inner, 1)
    return torch.log(A).contiguous()
