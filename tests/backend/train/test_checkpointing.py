"""Checkpoints are safetensors + JSON, written atomically, and a damaged one is reported, never loaded."""

import json

import pytest
import torch

from motion_mamba.train.checkpointing import (CheckpointError, latest_checkpoint, load_checkpoint,
                                              optimizer_from_flat, optimizer_to_flat, save_checkpoint)


def _tensors(v: float):
    return {"model": {"w": torch.full((3, 2), v), "b": torch.zeros(2)}}


def test_roundtrip_and_no_pickle(tmp_path):
    path = save_checkpoint(tmp_path, 5, _tensors(1.5), {"note": "x"})
    assert path.name == "step_00000005"
    assert sorted(p.name for p in path.iterdir()) == ["model.safetensors", "trainer.json"]
    tensors, meta = load_checkpoint(path)
    assert torch.equal(tensors["model"]["w"], torch.full((3, 2), 1.5))
    assert meta["step"] == 5 and meta["note"] == "x"
    assert not (path / "model.safetensors").read_bytes().startswith(b"\x80")  # not a pickle stream


def test_keeps_only_newest_and_ignores_half_written(tmp_path):
    for s in (1, 2, 3):
        save_checkpoint(tmp_path, s, _tensors(s), {}, keep=2)
    (tmp_path / ".tmp-step_00000004-999").mkdir()  # a writer killed mid-way
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("step")) == ["step_00000002",
                                                                                       "step_00000003"]
    assert latest_checkpoint(tmp_path).name == "step_00000003"


def test_corrupt_checkpoint_is_named_and_skipped(tmp_path):
    save_checkpoint(tmp_path, 1, _tensors(1.0), {})
    bad = save_checkpoint(tmp_path, 2, _tensors(2.0), {})
    data = bytearray((bad / "model.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (bad / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"model\.safetensors.*checksum"):
        load_checkpoint(bad)
    with pytest.warns(UserWarning, match="skipping unusable checkpoint"):
        assert latest_checkpoint(tmp_path).name == "step_00000001"


def test_truncated_manifest_and_missing_files(tmp_path):
    path = save_checkpoint(tmp_path, 1, _tensors(1.0), {})
    (path / "trainer.json").write_text('{"format": 1, "fi')
    with pytest.raises(CheckpointError, match="trainer.json: not valid JSON"):
        load_checkpoint(path)
    path = save_checkpoint(tmp_path, 2, _tensors(1.0), {})
    (path / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="model.safetensors: missing"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="not a checkpoint directory"):
        load_checkpoint(tmp_path / "nope")


def test_optimizer_state_roundtrip(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(3):
        opt.zero_grad()
        model(torch.randn(8, 3)).pow(2).sum().backward()
        opt.step()
    tensors, meta = optimizer_to_flat(opt)
    path = save_checkpoint(tmp_path, 3, {"optimizer": tensors}, {"optimizer": meta})
    json.loads((path / "trainer.json").read_text())  # everything non-tensor is plain JSON
    loaded, meta = load_checkpoint(path)
    fresh = torch.optim.AdamW(model.parameters(), lr=1.0)
    optimizer_from_flat(fresh, loaded["optimizer"], meta["optimizer"])
    a, b = opt.state_dict(), fresh.state_dict()
    assert b["param_groups"][0]["lr"] == 1e-2
    for idx in a["state"]:
        for k in a["state"][idx]:
            assert torch.equal(a["state"][idx][k], b["state"][idx][k])
