"""`.npz` motion files (format in docs/motion-format.md): written atomically, read with validation that names the
file, never unpickled."""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .motion import Motion
from .skeleton import SKELETONS

FORMAT_VERSION = 1
_ARRAYS = ("joints", "rotations", "root_translation")


def save_motion(path: str | os.PathLike, motion: Motion) -> Path:
    """Validate and write `motion` to `path` (.npz); the file appears complete or not at all."""
    path = Path(path)
    motion.validate(where=str(path))
    data: dict[str, np.ndarray] = {
        "format_version": np.asarray(FORMAT_VERSION),
        "fps": np.asarray(float(motion.fps)),
        "skeleton": np.asarray(motion.skeleton),
        "text": np.asarray(motion.text),
        "model": np.asarray(motion.model),
    }
    for key in _ARRAYS:
        value = getattr(motion, key)
        if value is not None:
            value = np.asarray(value)
            data[key] = value if np.issubdtype(value.dtype, np.floating) else value.astype(np.float32)
    if motion.seed is not None:
        data["seed"] = np.asarray(int(motion.seed), dtype=np.int64)
    for key, value in motion.extras.items():
        arr = np.asarray(value)
        if arr.dtype == object:
            raise ValueError(f"{path}: extras[{key!r}] is not a plain array, string or number")
        data[f"extra_{key}"] = arr
    atomic_write(path, lambda f: np.savez(f, **data))
    return path


def load_motion(path: str | os.PathLike) -> Motion:
    """Read and validate a motion file; errors name the file and what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such motion file")
    try:
        with np.load(path, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise ValueError(f"{path}: not a readable .npz motion file ({e})") from None
    for key in ("joints", "fps"):
        if key not in data:
            raise ValueError(f"{path}: missing required array {key!r} (found: {', '.join(sorted(data)) or 'none'})")
    skeleton = str(data.get("skeleton", "smpl22"))
    if skeleton not in SKELETONS:
        raise ValueError(f"{path}: unknown skeleton {skeleton!r}; choose one of {sorted(SKELETONS)}")
    if data["fps"].size != 1 or not np.issubdtype(data["fps"].dtype, np.number):
        raise ValueError(f"{path}: fps must be one number, got {data['fps']!r}")
    for key in _ARRAYS:
        if key in data and not np.issubdtype(data[key].dtype, np.number):
            raise ValueError(f"{path}: {key} must be numeric, got dtype {data[key].dtype}")
    motion = Motion(
        joints=data["joints"],
        fps=float(data["fps"]),
        skeleton=skeleton,
        rotations=data.get("rotations"),
        root_translation=data.get("root_translation"),
        text=str(data.get("text", "")),
        seed=int(data["seed"]) if "seed" in data else None,
        model=str(data.get("model", "")),
        extras={k[len("extra_"):]: v for k, v in data.items() if k.startswith("extra_")},
    ).validate(where=str(path))
    check_bones(motion.joints, motion.skel.parents, where=str(path))
    return motion


def check_bones(joints: np.ndarray, parents: tuple[int, ...], where: str) -> None:
    """Raise if any bone has (near) zero length: such joints have no direction to pose a rig with."""
    lengths = np.linalg.norm(joints[:, 1:] - joints[:, list(parents[1:])], axis=-1)
    if np.any(lengths < 1e-6):
        t, j = np.argwhere(lengths < 1e-6)[0]
        raise ValueError(f"{where}: zero-length bone from joint {parents[j + 1]} to joint {j + 1} at frame {t}")


def atomic_write(path: Path, write) -> None:
    """Call write(binary file) on a temporary file next to `path`, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a motion file is an ordinary document
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
