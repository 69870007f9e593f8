"""Which selective-scan backend runs, visibly and overridably.

- "mamba_ssm": CUDA tensor and `mamba_ssm` importable → its fused CUDA `selective_scan_fn` (bf16 inputs fine).
- "kernel": CPU tensor and the C kernel compiled (`cpu_kernel`; needs a C compiler once, then cached).
- "torch": everything else (pure PyTorch, any device).

`auto` (default) picks the first that applies. Force one with `set_backend(name)` or the environment variable
MOTION_MAMBA_SSM_BACKEND; a forced backend that cannot run raises instead of silently falling back. The choice
is logged once per (device type, backend) on logger "motion_mamba.ssm" and readable via `backend_for(tensor)`.
"""

from __future__ import annotations

import logging
import os
from typing import Callable, Literal

from torch import Tensor

try:  # CUDA-only package; on CPU machines it is absent or fails to import (no selective_scan_cuda)
    from mamba_ssm.ops.selective_scan_interface import selective_scan_fn as _mamba_selective_scan_fn
except Exception:  # noqa: BLE001 - any import failure means "not usable here"
    _mamba_selective_scan_fn = None

Backend = Literal["auto", "mamba_ssm", "kernel", "torch"]
BACKENDS: tuple[str, ...] = ("auto", "mamba_ssm", "kernel", "torch")
ENV_VAR = "MOTION_MAMBA_SSM_BACKEND"

log = logging.getLogger("motion_mamba.ssm")
_forced: str | None = None
_announced: set[tuple[str, str]] = set()


def set_backend(name: Backend | None) -> None:
    """Force a backend for all later scans ("auto" or None: choose per tensor; overrides the env variable)."""
    global _forced
    if name is not None and name not in BACKENDS:
        raise ValueError(f"unknown selective-scan backend {name!r}; must be one of {', '.join(BACKENDS)}")
    _forced = name


def requested_backend() -> str:
    name = _forced if _forced is not None else os.environ.get(ENV_VAR, "auto").strip() or "auto"
    if name not in BACKENDS:
        raise ValueError(f"{ENV_VAR}={name!r} is not a selective-scan backend; must be one of {', '.join(BACKENDS)}")
    return name


def mamba_ssm_available() -> bool:
    return _mamba_selective_scan_fn is not None


def backend_for(x: Tensor) -> str:
    """The backend a scan over tensor x runs on (raises if a forced backend cannot run on x)."""
    name = requested_backend()
    if name == "auto":
        if x.is_cuda and mamba_ssm_available():
            name = "mamba_ssm"
        elif x.device.type == "cpu" and _kernel_available():
            name = "kernel"
        else:
            name = "torch"
    elif name == "mamba_ssm" and not (x.is_cuda and mamba_ssm_available()):
        raise RuntimeError("selective-scan backend 'mamba_ssm' needs CUDA tensors and an importable mamba_ssm")
    elif name == "kernel" and not (x.device.type == "cpu" and _kernel_available()):
        raise RuntimeError("selective-scan backend 'kernel' needs CPU tensors and a working C compiler (see log)")
    key = (x.device.type, name)
    if key not in _announced:
        _announced.add(key)
        log.info("selective scan on %s uses backend %r", x.device.type, name)
    return name


def scan_function(name: str) -> Callable[..., Tensor]:
    """A CPU-side backend's scan (u, delta, A, B, C, D, z, delta_bias, delta_softplus), B and C as (batch, G, L, N)."""
    if name == "kernel":
        from .cpu_kernel import kernel_scan

        return kernel_scan
    from .selective_scan import torch_scan

    return torch_scan


def mamba_ssm_selective_scan(u, delta, A, B, C, D, z, delta_bias, delta_softplus) -> Tensor:
    """mamba-ssm's fused kernel; D and delta_bias in float32 as its Mamba block passes them."""
    return _mamba_selective_scan_fn(
        u, delta, A.float(), B.contiguous(), C.contiguous(),
        None if D is None else D.float(), z=z,
        delta_bias=None if delta_bias is None else delta_bias.float(), delta_softplus=delta_softplus,
    )


def _kernel_available() -> bool:
    from .cpu_kernel import load

    return load() is not None
