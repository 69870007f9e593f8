"""Training checkpoints as safetensors + JSON, written atomically, verified on load. Never pickle.

Layout of one checkpoint (a directory, so a half-written one never has the final name):

    RUN/checkpoints/step_00001200/
        model.safetensors       live weights of the trained module
        ema.safetensors         EMA shadow weights
        optimizer.safetensors   optimizer tensors, flattened as "state/<param index>/<name>"
        trainer.json            step, optimizer hyper-parameters and scalar state, EMA count, config, and the
                                sha256 of every file above (written last: its presence marks a complete checkpoint)

It is written to a temporary sibling directory, fsynced and renamed into place, and only then are checkpoints
older than the newest `keep` removed, so a kill at any moment leaves the last good checkpoint intact.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import warnings
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

CHECKPOINT_FORMAT = 1
MANIFEST = "trainer.json"
_STEP_DIR = re.compile(r"^step_(\d{8,})$")


class CheckpointError(ValueError):
    """A checkpoint that is missing, incomplete or corrupt; the message names the file and the problem."""


def save_checkpoint(root: Path, step: int, tensors: dict[str, dict[str, torch.Tensor]], meta: dict[str, Any],
                    keep: int = 2) -> Path:
    """Write `tensors[name]` to `<name>.safetensors` and `meta` to trainer.json under root/step_XXXXXXXX."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step_{step:08d}"
    tmp = root / f".tmp-{final.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    files = {}
    for name, group in tensors.items():
        path = tmp / f"{name}.safetensors"
        # clone + contiguous: safetensors refuses views and tensors sharing storage (tied weights)
        save_file({k: v.detach().cpu().contiguous().clone() for k, v in group.items()}, str(path))
        _fsync_file(path)
        files[path.name] = _sha256(path)
    manifest = {"format": CHECKPOINT_FORMAT, "step": step, "files": files, **meta}
    _write_json(tmp / MANIFEST, manifest)
    _fsync_dir(tmp)
    if final.exists():  # re-saving the same step after a resume: swap, then drop the old copy
        old = root / f".old-{final.name}-{os.getpid()}"
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)
    _fsync_dir(root)
    for stale in _step_dirs(root)[:-keep] if keep > 0 else []:
        shutil.rmtree(stale, ignore_errors=True)
    return final


def load_checkpoint(path: Path) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, Any]]:
    """Read and verify a checkpoint directory; raise CheckpointError naming the broken file."""
    path = Path(path)
    manifest_path = path / MANIFEST
    if not path.is_dir():
        raise CheckpointError(f"{path}: not a checkpoint directory")
    if not manifest_path.is_file():
        raise CheckpointError(f"{manifest_path}: missing (the checkpoint was not completely written)")
    try:
        meta = json.loads(manifest_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{manifest_path}: not valid JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != CHECKPOINT_FORMAT or not isinstance(meta.get("files"), dict):
        raise CheckpointError(f"{manifest_path}: not a format-{CHECKPOINT_FORMAT} training checkpoint manifest")
    tensors = {}
    for name, digest in meta["files"].items():
        f = path / name
        if not f.is_file():
            raise CheckpointError(f"{f}: missing")
        if _sha256(f) != digest:
            raise CheckpointError(f"{f}: contents do not match the checksum in {MANIFEST} (corrupt or modified)")
        try:
            tensors[name.removesuffix(".safetensors")] = load_file(str(f))
        except (SafetensorError, OSError) as e:
            raise CheckpointError(f"{f}: unreadable safetensors ({e})") from None
    return tensors, meta


def latest_checkpoint(root: Path) -> Path | None:
    """The newest checkpoint under root that verifies; newer broken ones are skipped with a warning."""
    for path in reversed(_step_dirs(Path(root))):
        try:
            load_checkpoint(path)
        except CheckpointError as e:
            warnings.warn(f"skipping unusable checkpoint: {e}", stacklevel=2)
            continue
        return path
    return None


def optimizer_to_flat(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Split an optimizer state dict into tensors (for safetensors) and JSON-able hyper-parameters/scalars."""
    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for idx, state in sd["state"].items():
        for k, v in state.items():
            if torch.is_tensor(v):
                tensors[f"state/{idx}/{k}"] = v
            else:
                scalars[f"{idx}/{k}"] = v
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def optimizer_from_flat(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor],
                        meta: dict[str, Any]) -> None:
    state: dict[int, dict[str, Any]] = {}
    for key, v in tensors.items():
        _, idx, k = key.split("/", 2)
        state.setdefault(int(idx), {})[k] = v
    for key, v in meta["scalars"].items():
        idx, k = key.split("/", 1)
        state.setdefault(int(idx), {})[k] = v
    groups = meta["param_groups"]
    if len(groups) != len(optimizer.param_groups) or any(
            len(g["params"]) != len(h["params"]) for g, h in zip(groups, optimizer.param_groups)):
        raise CheckpointError("optimizer state in the checkpoint does not match the model's parameters")
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def _step_dirs(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and _STEP_DIR.match(p.name))


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _write_json(path: Path, obj: Any) -> None:
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.flush()
        os.fsync(f.fileno())


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON next to its destination, then rename, so readers never see half a file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    _write_json(tmp, obj)
    os.replace(tmp, path)
