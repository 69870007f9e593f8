"""Motion Mamba's two compositions of selective SSMs, each run as ONE batched scan.

- `MultiScanMamba` (HTM, paper Algorithm 1): k isolated SSMs — each with its own conv1d, x_proj, dt_proj, A_log
  and D — read the same in_proj input; their outputs are **summed** (as Algorithm 1 sums the isolated SSM
  outputs), gated by the shared silu(z) and projected by the shared out_proj.
- `BiMamba` (BSM, paper Algorithm 2, Vim-style): a forward SSM over x and a backward SSM (own parameters) over x
  flipped in time; y = (y_fwd + flip(y_bwd)) · silu(z), then out_proj.

Both hold the k SSMs' parameters stacked along a leading k axis and lay the k copies of the input side by side
as k·E channels, so one grouped conv1d and one selective scan (B/C groups = SSMs) do all the work; with k = 1
this is exactly the `Mamba` block's computation.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .mamba import causal_conv1d, init_dt_proj, s4d_real_A_log, ssm_scans


class _IsolatedSSMs(nn.Module):
    """Shared in_proj/out_proj around k isolated SSMs (parameters stacked on axis 0, init as mamba_simple)."""

    def __init__(
        self,
        d_model: int,
        n_scans: int,
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
        layer_idx: int | None = None,
        device=None,
        dtype=None,
    ):
        if n_scans < 1:
            raise ValueError(f"n_scans must be >= 1, got {n_scans}")
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        self.d_model, self.n_scans, self.d_state, self.d_conv = d_model, n_scans, d_state, d_conv
        self.d_inner = int(expand * d_model)
        self.dt_rank = math.ceil(d_model / 16) if dt_rank == "auto" else int(dt_rank)
        self.layer_idx = layer_idx
        k, E, R, N = n_scans, self.d_inner, self.dt_rank, d_state

        self.in_proj = nn.Linear(d_model, 2 * E, bias=bias, **factory_kwargs)
        # Depthwise causal conv of SSM i on channels [i·E, (i+1)·E); nn.Conv1d's default init per channel.
        self.conv1d = nn.Conv1d(k * E, k * E, d_conv, groups=k * E, padding=d_conv - 1, bias=conv_bias, **factory_kwargs)
        self.x_proj_weight = nn.Parameter(torch.empty(k, R + 2 * N, E, **factory_kwargs))
        self.dt_proj_weight = nn.Parameter(torch.empty(k, E, R, **factory_kwargs))
        self.dt_proj_bias = nn.Parameter(torch.empty(k, E, **factory_kwargs))
        self.A_log = nn.Parameter(s4d_real_A_log(k * E, N, device).view(k, E, N))
        self.D = nn.Parameter(torch.ones(k, E, device=device))
        self.out_proj = nn.Linear(E, d_model, bias=bias, **factory_kwargs)
        with torch.no_grad():
            bound = 1 / math.sqrt(E)  # nn.Linear(E, R + 2N, bias=False) default
            self.x_proj_weight.uniform_(-bound, bound)
            for i in range(k):
                init_dt_proj(
                    self.dt_proj_weight[i], self.dt_proj_bias[i], dt_init, dt_scale, dt_min, dt_max, dt_init_floor
                )
        self.dt_proj_bias._no_reinit = True
        self.A_log._no_weight_decay = True
        self.D._no_weight_decay = True

    def _scan(self, xk: Tensor, L: int) -> Tensor:
        """xk: (B, k·E, L) pre-conv inputs of the k SSMs -> (B, k, E, L) SSM outputs (D skip included, no gate)."""
        xk = F.silu(causal_conv1d(xk, self.conv1d.weight, self.conv1d.bias))
        y = ssm_scans(
            xk,
            self.x_proj_weight,
            self.dt_proj_weight,
            self.dt_proj_bias.view(-1),
            self.A_log.view(-1, self.d_state),
            self.D.view(-1),
            self.dt_rank,
        )
        return y.reshape(xk.shape[0], self.n_scans, self.d_inner, L)


class MultiScanMamba(_IsolatedSSMs):
    """HTM's isolated multi-scan: `n_scans` SSMs over the same sequence, outputs summed. (B, L, D) -> (B, L, D)."""

    def forward(self, hidden_states: Tensor) -> Tensor:
        L = hidden_states.shape[1]
        x, z = self.in_proj(hidden_states).transpose(1, 2).chunk(2, dim=1)  # (B, E, L) each
        y = self._scan(x.repeat(1, self.n_scans, 1), L).sum(dim=1)  # Σ_i SSM_i(x)
        return self.out_proj((y * F.silu(z)).transpose(1, 2))


class BiMamba(_IsolatedSSMs):
    """BSM's bidirectional scan: SSM 0 runs forward, SSM 1 backward over L; gated sum. (B, L, D) -> (B, L, D)."""

    def __init__(self, d_model: int, **mamba_kwargs):
        super().__init__(d_model, n_scans=2, **mamba_kwargs)

    def forward(self, hidden_states: Tensor) -> Tensor:
        L = hidden_states.shape[1]
        x, z = self.in_proj(hidden_states).transpose(1, 2).chunk(2, dim=1)  # (B, E, L) each
        y = self._scan(torch.cat([x, x.flip(-1)], dim=1), L)  # backward SSM reads time reversed
        y = y[:, 0] + y[:, 1].flip(-1)  # ...and its output is flipped back
        return self.out_proj((y * F.silu(z)).transpose(1, 2))
