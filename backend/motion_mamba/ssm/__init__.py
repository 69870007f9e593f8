"""Selective state-space (Mamba) layers that run fast on CPU and load mamba-ssm weights.

- `Mamba`: mamba-ssm's `mamba_simple.Mamba`, same parameters (state dicts load with strict=True).
- `MultiScanMamba` (HTM) and `BiMamba` (BSM): Motion Mamba's compositions, one batched scan each.
- `selective_scan` / `selective_scan_ref`: mamba-ssm's scan signature; fast dispatched op and readable oracle.
- `set_backend` / `backend_for`: see `dispatch` ("mamba_ssm" on CUDA, "kernel" C on CPU, "torch" fallback).
"""

from .compositions import BiMamba, MultiScanMamba
from .dispatch import backend_for, set_backend
from .mamba import Mamba
from .selective_scan import selective_scan, selective_scan_ref

__all__ = ["Mamba", "MultiScanMamba", "BiMamba", "selective_scan", "selective_scan_ref", "set_backend", "backend_for"]
