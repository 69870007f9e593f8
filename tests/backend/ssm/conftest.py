"""Every SSM test runs against both CPU backends unless it pins one; the backend is reset afterwards.
Without a C compiler the "kernel" cases skip (the pure-PyTorch fallback is still fully tested)."""

import pytest
import torch

from motion_mamba.ssm import cpu_kernel, dispatch


@pytest.fixture
def c_kernel():
    if cpu_kernel.load() is None:
        pytest.skip("selective-scan C kernel unavailable here (no working C compiler)")


@pytest.fixture(params=["kernel", "torch"])
def backend(request):
    if request.param == "kernel":
        request.getfixturevalue("c_kernel")
    dispatch.set_backend(request.param)
    yield request.param
    dispatch.set_backend(None)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
