"""Every SSM test runs against both CPU backends unless it pins one; the backend is reset afterwards."""

import pytest
import torch

from motion_mamba.ssm import dispatch


@pytest.fixture(params=["kernel", "torch"])
def backend(request):
    dispatch.set_backend(request.param)
    yield request.param
    dispatch.set_backend(None)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
