"""Model bundles: a directory with `model.safetensors` (weights) and `config.json` (everything else).

config.json holds the format tag and version, the code version, the `ModelConfig` (architecture, diffusion,
text encoder id), the normalisation statistics (feature Mean/Std, latent mean/std), the skeleton name, the
SHA-256 of model.safetensors (so a truncated or swapped weights file is caught) and free-form training metadata.
No pickle anywhere. Bundles are written to a temporary sibling directory and moved into place, so a crash never
leaves a half-written bundle under the final name; any problem reading one raises `BundleError` naming the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import __version__
from .config import ModelConfig
from .motion_model import STAT_NAMES, MotionModel

FORMAT = "motion-mamba-bundle"
FORMAT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"


class BundleError(ValueError):
    """A bundle directory exists but cannot be used (missing, corrupt or inconsistent file)."""


def weights_hash(model: MotionModel) -> str:
    """SHA-256 over parameter names, shapes, bytes and the statistics: equal iff the model computes the same."""
    h = hashlib.sha256()
    tensors = dict(model.state_dict())
    tensors.update({name: torch.as_tensor(v) for name, v in model.statistics().items()})
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu", torch.float32).contiguous()
        h.update(f"{name}:{tuple(t.shape)};".encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def save_bundle(path: str | Path, model: MotionModel, metadata: dict[str, Any] | None = None) -> Path:
    """Write `model` as a bundle at `path` (replacing an existing bundle there); returns the path."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a bundle is an ordinary shared folder
        state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
        save_file(state, str(tmp / WEIGHTS_FILE), metadata={"format": FORMAT})
        config = model.config
        doc = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "code_version": __version__,
            "name": config.name,
            "preset": config.preset,
            "skeleton": config.skeleton,
            "text_encoder": config.text.encoder,
            "parameters": model.parameter_counts(),
            "config": config.to_dict(),
            "normalization": {k: v.tolist() for k, v in model.statistics().items()},
            "weights_sha256": _file_sha256(tmp / WEIGHTS_FILE),
            "content_hash": weights_hash(model),
            "metadata": metadata or {},
        }
        (tmp / CONFIG_FILE).write_text(json.dumps(doc, indent=1) + "\n")
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def read_bundle_config(path: str | Path) -> dict[str, Any]:
    """The parsed, checked config.json of the bundle at `path` (weights are not read)."""
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no model bundle here (expected a directory with {CONFIG_FILE})")
    cfg_path = path / CONFIG_FILE
    if not cfg_path.is_file():
        raise BundleError(f"{cfg_path}: missing; not a complete model bundle")
    try:
        doc = json.loads(cfg_path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BundleError(f"{cfg_path}: not valid JSON ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BundleError(f"{cfg_path}: not a {FORMAT} config (field 'format')")
    if doc.get("format_version") != FORMAT_VERSION:
        raise BundleError(f"{cfg_path}: format_version {doc.get('format_version')!r}, this code reads {FORMAT_VERSION}")
    for key in ("config", "normalization", "weights_sha256"):
        if key not in doc:
            raise BundleError(f"{cfg_path}: missing field {key!r}")
    return doc


def set_guidance_scale(path: str | Path, scale: float, provenance: dict[str, Any] | None = None) -> None:
    """Write the bundle's default classifier-free guidance scale (a sampling setting, not a weight: the weights and
    their hashes stay as they are), with how it was chosen under metadata.guidance. Atomic: a kill leaves the old
    config or the new one."""
    if not (isinstance(scale, (int, float)) and np.isfinite(scale) and scale >= 0):
        raise ValueError(f"guidance scale must be a finite number >= 0, got {scale!r}")
    from ..motion_io import atomic_write

    doc = read_bundle_config(path)
    doc["config"]["diffusion"]["guidance_scale"] = float(scale)
    if provenance is not None:
        doc.setdefault("metadata", {})["guidance"] = provenance
    atomic_write(Path(path) / CONFIG_FILE, lambda f: f.write((json.dumps(doc, indent=1) + "\n").encode()))


def load_bundle(path: str | Path, device: str | torch.device = "cpu") -> tuple[MotionModel, dict[str, Any]]:
    """(model in eval mode on `device`, config.json document) from the bundle at `path`."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    doc = read_bundle_config(path)
    cfg_path, weights = path / CONFIG_FILE, path / WEIGHTS_FILE
    try:
        config = ModelConfig.from_dict(doc["config"])
    except (TypeError, ValueError) as e:
        raise BundleError(f"{cfg_path}: field 'config': {e}") from None
    if not weights.is_file():
        raise BundleError(f"{weights}: missing; not a complete model bundle")
    if _file_sha256(weights) != doc["weights_sha256"]:
        raise BundleError(f"{weights}: SHA-256 differs from {CONFIG_FILE} (truncated, corrupt or mismatched copy)")
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError) as e:
        raise BundleError(f"{weights}: unreadable ({e})") from None
    model = MotionModel(config)
    missing, unexpected = _compare_keys(model, state)
    if missing or unexpected:
        raise BundleError(f"{weights}: does not fit the config (missing {missing[:5]}, unexpected {unexpected[:5]})")
    try:
        model.load_state_dict(state)
        norm = doc["normalization"]
        model.set_statistics(**{k: np.asarray(norm[k], dtype=np.float32) for k in STAT_NAMES})
    except (KeyError, RuntimeError, ValueError, TypeError) as e:
        raise BundleError(f"{path}: weights or normalisation do not fit the config ({e})") from None
    return model.to(device).eval(), doc


def _compare_keys(model: MotionModel, state: dict[str, torch.Tensor]) -> tuple[list[str], list[str]]:
    expected = set(model.state_dict())
    return sorted(expected - set(state)), sorted(set(state) - expected)
