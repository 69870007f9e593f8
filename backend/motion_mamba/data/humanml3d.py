"""HumanML3D / KIT-ML loader with the paper's conventions (text-to-motion `Text2MotionDatasetV2`, as MLD uses it).

Layout (`DIR/`): `new_joint_vecs/ID.npy` (T, 263|251) features, `texts/ID.txt` with `caption#tokens#start#end`
lines, `Mean.npy`, `Std.npy`, and `train.txt` / `val.txt` / `test.txt` id lists (`new_joints/` is optional here).

- a caption with start/end times (seconds) makes its own entry cut to those frames; "0.0#0.0" means whole clip;
- entries shorter than `min_length` or not shorter than 200 frames are dropped (196 = 9.8 s is the maximum);
- each fetch picks one caption at random, crops the length to a multiple of `unit_length` (4) with the original
  "single/double" coin (sometimes one unit less), takes a random window of that length, and normalises by
  Mean/Std. `collate` pads a batch to its longest clip and adds a boolean mask.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

Split = Literal["train", "val", "test", "all"]


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    dim: int  # feature size
    joints: int
    fps: float
    min_length: int  # frames
    max_length: int = 196  # frames; entries of >= 200 frames are dropped as in the original loader
    unit_length: int = 4


HUMANML3D = DatasetSpec("humanml3d", dim=263, joints=22, fps=20.0, min_length=40)
KIT_ML = DatasetSpec("kit", dim=251, joints=21, fps=12.5, min_length=24)
SPECS = {"humanml3d": HUMANML3D, "kit": KIT_ML}


class DatasetError(ValueError):
    """A missing or malformed dataset file; the message names the file and what was expected."""


@dataclass
class Entry:
    id: str  # clip id, with a "#k" suffix for a caption-defined sub-clip
    motion: np.ndarray  # (T, D) raw (un-normalised) features
    captions: list[tuple[str, str]]  # (caption, tokens)


def check_layout(root: str | os.PathLike, spec: DatasetSpec = HUMANML3D, split: Split = "train") -> Path:
    """Fail early, naming the first missing piece of the layout."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: dataset folder not found (expected the {spec.name} layout: new_joint_vecs/, "
                           f"texts/, Mean.npy, Std.npy, {split}.txt)")
    for sub in ("new_joint_vecs", "texts"):
        if not (root / sub).is_dir():
            raise DatasetError(f"{root / sub}: folder missing (expected one .npy/.txt per clip id)")
    for name in ("Mean.npy", "Std.npy"):
        f = root / name
        if not f.is_file():
            raise DatasetError(f"{f}: missing (expected a ({spec.dim},) float array of feature statistics)")
        arr = np.load(f, allow_pickle=False)
        if arr.shape != (spec.dim,):
            raise DatasetError(f"{f}: shape {arr.shape}, expected ({spec.dim},) for {spec.name}")
        if name == "Std.npy" and not np.all(arr > 0):
            raise DatasetError(f"{f}: contains zero or negative entries; every std must be > 0")
    ids = [split] if split != "all" else ["train", "val", "test"]
    for s in ids:
        if not (root / f"{s}.txt").is_file():
            raise DatasetError(f"{root / f'{s}.txt'}: split file missing (expected one clip id per line)")
    return root


def read_split(root: Path, split: Split) -> list[str]:
    names = ["train", "val", "test"] if split == "all" else [split]
    ids: list[str] = []
    for s in names:
        ids += [ln.strip() for ln in (root / f"{s}.txt").read_text(encoding="utf-8").splitlines() if ln.strip()]
    return ids


def read_texts(path: Path) -> list[tuple[str, str, float, float]]:
    """(caption, tokens, start s, end s) per line of a HumanML3D text file."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.strip().split("#")
        if len(parts) != 4:
            raise DatasetError(f"{path}:{n}: expected 'caption#tokens#start#end', got {line!r}")
        try:
            start, end = float(parts[2] or 0.0), float(parts[3] or 0.0)
        except ValueError:
            raise DatasetError(f"{path}:{n}: start/end must be numbers (seconds), got {parts[2]!r}, {parts[3]!r}") from None
        start, end = (0.0 if np.isnan(start) else start), (0.0 if np.isnan(end) else end)
        out.append((parts[0], parts[1], start, end))
    if not out:
        raise DatasetError(f"{path}: no caption lines")
    return out


def load_entries(root: str | os.PathLike, split: Split = "train", spec: DatasetSpec = HUMANML3D) -> list[Entry]:
    """All usable (clip or sub-clip, captions) entries of a split, with the original length filters."""
    root = check_layout(root, spec, split)
    entries: list[Entry] = []
    for cid in read_split(root, split):
        mpath, tpath = root / "new_joint_vecs" / f"{cid}.npy", root / "texts" / f"{cid}.txt"
        if not mpath.is_file():
            raise DatasetError(f"{mpath}: listed in {split}.txt but missing")
        if not tpath.is_file():
            raise DatasetError(f"{tpath}: listed in {split}.txt but missing")
        motion = np.load(mpath, allow_pickle=False)
        if motion.ndim != 2 or motion.shape[1] != spec.dim:
            raise DatasetError(f"{mpath}: shape {motion.shape}, expected (T, {spec.dim}) for {spec.name}")
        if not (spec.min_length <= len(motion) < 200):
            continue
        whole: list[tuple[str, str]] = []
        for k, (caption, tokens, start, end) in enumerate(read_texts(tpath)):
            if start == 0.0 and end == 0.0:
                whole.append((caption, tokens))
                continue
            sub = motion[int(start * spec.fps) : int(end * spec.fps)]
            if spec.min_length <= len(sub) < 200:
                entries.append(Entry(f"{cid}#{k}", sub, [(caption, tokens)]))
        if whole:
            entries.append(Entry(cid, motion, whole))
    if not entries:
        raise DatasetError(f"{root}: split {split!r} has no clip of {spec.min_length}-199 frames with a caption")
    return entries


class MotionTextDataset:
    """torch-style Dataset of (normalised motion window, caption); see the module docstring for the sampling."""

    def __init__(self, root: str | os.PathLike, split: Split = "train", spec: DatasetSpec | str = HUMANML3D,
                 seed: int | None = None, random_crop: bool = True) -> None:
        self.spec = SPECS[spec] if isinstance(spec, str) else spec
        self.root = Path(root)
        self.entries = load_entries(root, split, self.spec)
        self.mean = np.load(self.root / "Mean.npy").astype(np.float32)
        self.std = np.load(self.root / "Std.npy").astype(np.float32)
        self.rng = np.random.default_rng(seed)
        self.random_crop = random_crop

    def __len__(self) -> int:
        return len(self.entries)

    def normalize(self, motion: np.ndarray) -> np.ndarray:
        return ((motion - self.mean) / self.std).astype(np.float32)

    def denormalize(self, motion):
        """Works on numpy arrays and torch tensors alike (broadcast over leading dims)."""
        if hasattr(motion, "new_tensor"):
            return motion * motion.new_tensor(self.std) + motion.new_tensor(self.mean)
        return motion * self.std + self.mean

    def __getitem__(self, i: int) -> dict:
        e = self.entries[i]
        caption, tokens = e.captions[int(self.rng.integers(len(e.captions)))] if self.random_crop else e.captions[0]
        u = self.spec.unit_length
        length = min(len(e.motion), self.spec.max_length)
        if self.random_crop and u < 10 and self.rng.choice(["single", "single", "double"]) == "double":
            length = (length // u - 1) * u
        else:
            length = (length // u) * u
        start = int(self.rng.integers(0, len(e.motion) - length + 1)) if self.random_crop else 0
        return {"motion": self.normalize(e.motion[start : start + length]), "length": length, "text": caption,
                "tokens": tokens, "id": e.id}


def collate(batch: list[dict]) -> dict:
    """-> motion (B, Tmax, D) float32 zero-padded, lengths (B,) int64, mask (B, Tmax) bool, texts, tokens, ids."""
    import torch

    lengths = torch.tensor([b["length"] for b in batch], dtype=torch.long)
    tmax = int(lengths.max())
    dim = batch[0]["motion"].shape[1]
    motion = torch.zeros(len(batch), tmax, dim)
    for k, b in enumerate(batch):
        motion[k, : b["length"]] = torch.from_numpy(b["motion"])
    mask = torch.arange(tmax)[None] < lengths[:, None]
    return {"motion": motion, "lengths": lengths, "mask": mask, "texts": [b["text"] for b in batch],
            "tokens": [b["tokens"] for b in batch], "ids": [b["id"] for b in batch]}
