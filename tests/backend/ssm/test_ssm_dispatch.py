"""Backend choice: automatic, visible, forceable, and a clean fallback when the C kernel cannot build."""

import logging

import pytest
import torch

from motion_mamba.ssm import Mamba, backend_for, cpu_kernel, dispatch, set_backend


@pytest.fixture(autouse=True)
def _reset():
    yield
    set_backend(None)
    dispatch._announced.clear()


def test_auto_uses_the_c_kernel_on_cpu_and_logs_it(c_kernel, caplog, monkeypatch):
    monkeypatch.delenv(dispatch.ENV_VAR, raising=False)
    dispatch._announced.clear()
    with caplog.at_level(logging.INFO, logger="motion_mamba.ssm"):
        Mamba(16)(torch.randn(1, 4, 16))
    assert backend_for(torch.zeros(1)) == "kernel"
    assert "uses backend 'kernel'" in caplog.text


def test_forcing(c_kernel, monkeypatch):
    monkeypatch.setenv(dispatch.ENV_VAR, "torch")
    assert backend_for(torch.zeros(1)) == "torch"
    set_backend("kernel")  # explicit call beats the environment
    assert backend_for(torch.zeros(1)) == "kernel"


def test_unknown_or_impossible_backend_is_an_error(monkeypatch):
    with pytest.raises(ValueError, match="one of auto, mamba_ssm, kernel, torch"):
        set_backend("cuda")
    monkeypatch.setenv(dispatch.ENV_VAR, "fast")
    with pytest.raises(ValueError, match="MOTION_MAMBA_SSM_BACKEND"):
        backend_for(torch.zeros(1))
    set_backend("mamba_ssm")  # no CUDA here
    with pytest.raises(RuntimeError, match="needs CUDA"):
        backend_for(torch.zeros(1))


def test_falls_back_to_torch_when_the_kernel_cannot_build(monkeypatch, caplog, tmp_path):
    monkeypatch.delenv(dispatch.ENV_VAR, raising=False)
    monkeypatch.setattr(cpu_kernel, "_lib", None)
    monkeypatch.setattr(cpu_kernel, "_tried", False)
    monkeypatch.setenv("CC", "/nonexistent/cc")
    monkeypatch.setenv("MOTION_MAMBA_KERNEL_CACHE", str(tmp_path))  # empty: nothing cached to fall back on
    with caplog.at_level(logging.WARNING, logger="motion_mamba.ssm"):
        assert backend_for(torch.zeros(1)) == "torch"
        y = Mamba(8)(torch.randn(1, 5, 8))
    assert torch.isfinite(y).all()
    assert "using the pure-PyTorch scan" in caplog.text


def test_kernel_builds_into_a_fresh_cache(c_kernel, monkeypatch, tmp_path):
    monkeypatch.setattr(cpu_kernel, "_lib", None)
    monkeypatch.setattr(cpu_kernel, "_tried", False)
    monkeypatch.setenv("MOTION_MAMBA_KERNEL_CACHE", str(tmp_path))
    assert cpu_kernel.load() is not None
    assert [p.suffix for p in tmp_path.iterdir()] == [".so"]  # no temp files left behind
