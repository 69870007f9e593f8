"""Writing the HumanML3D directory layout (shared by the procedural corpus and BVH import).

    DIR/new_joints/ID.npy       (T, J, 3) float32 canonical joints, metres (KIT: millimetres)
    DIR/new_joint_vecs/ID.npy   (T-1, D) float32 features (`motion_mamba.features`)
    DIR/texts/ID.txt            one `caption#word/POS ...#start#end` line per caption (0.0#0.0 = whole clip)
    DIR/Mean.npy, DIR/Std.npy   (D,) over the train split, Std averaged per feature group as HumanML3D
    DIR/train.txt, val.txt, test.txt, all.txt   clip ids, one per line

A dataset is assembled in a sibling temp folder and renamed into place at the end, so an interrupted run
never leaves a half-written dataset behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ..features import feature_slices
from ..skeleton import SMPL22, Skeleton

SPLITS = ("train", "val", "test")


def text_line(caption: str, tokens: str, start: float = 0.0, end: float = 0.0) -> str:
    if "#" in caption or "\n" in caption:
        raise ValueError(f"caption must not contain '#' or a newline: {caption!r}")
    return f"{caption}#{tokens}#{start:.1f}#{end:.1f}"


def write_clip(root: Path, cid: str, joints: np.ndarray, features: np.ndarray, lines: list[str]) -> None:
    np.save(root / "new_joints" / f"{cid}.npy", np.asarray(joints, dtype=np.float32))
    np.save(root / "new_joint_vecs" / f"{cid}.npy", np.asarray(features, dtype=np.float32))
    (root / "texts" / f"{cid}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


class FeatureStats:
    """Running per-dimension sums, so Mean/Std need not hold every clip in memory."""

    def __init__(self, dim: int) -> None:
        self.n = 0
        self.s = np.zeros(dim)
        self.s2 = np.zeros(dim)

    def add(self, features: np.ndarray) -> None:
        f = np.asarray(features, dtype=np.float64)
        self.n += len(f)
        self.s += f.sum(0)
        self.s2 += (f * f).sum(0)

    def merge(self, n: int, s: np.ndarray, s2: np.ndarray) -> None:
        self.n, self.s, self.s2 = self.n + n, self.s + s, self.s2 + s2

    def mean_std(self, skeleton: Skeleton = SMPL22) -> tuple[np.ndarray, np.ndarray]:
        """As `features.mean_std`: per-dimension mean; std averaged within each feature group (never 0)."""
        if self.n < 2:
            raise ValueError("Mean/Std need at least two feature rows in the train split")
        mean = self.s / self.n
        std = np.sqrt(np.maximum(self.s2 / self.n - mean**2, 0.0))
        for sl in feature_slices(skeleton).values():
            std[sl] = std[sl].mean()
        return mean.astype(np.float32), np.maximum(std, 1e-6).astype(np.float32)


class LayoutWriter:
    """Creates the layout in a temp sibling of `out`; `commit` renames it into place."""

    def __init__(self, out: str | os.PathLike, overwrite: bool = False) -> None:
        self.out = Path(out)
        if self.out.exists() and any(self.out.iterdir()) and not overwrite:
            raise ValueError(f"{self.out}: exists and is not empty (pass --overwrite to replace it)")
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.root = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.partial-", dir=self.out.parent))
        for sub in ("new_joints", "new_joint_vecs", "texts"):
            (self.root / sub).mkdir()

    def commit(self, splits: dict[str, list[str]], mean: np.ndarray, std: np.ndarray,
               extra: dict[str, str] | None = None) -> Path:
        for name in SPLITS:
            (self.root / f"{name}.txt").write_text("".join(f"{i}\n" for i in sorted(splits.get(name, []))))
        all_ids = sorted(i for ids in splits.values() for i in ids)
        (self.root / "all.txt").write_text("".join(f"{i}\n" for i in all_ids))
        np.save(self.root / "Mean.npy", mean)
        np.save(self.root / "Std.npy", std)
        for name, text in (extra or {}).items():
            (self.root / name).write_text(text, encoding="utf-8")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self.root, 0o777 & ~umask)  # mkdtemp made it owner-only
        if self.out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.old-", dir=self.out.parent))
            os.replace(self.out, old / "x")
            os.replace(self.root, self.out)
            shutil.rmtree(old)
        else:
            os.replace(self.root, self.out)
        return self.out

    def abort(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
