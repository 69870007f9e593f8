"""Bring-your-own mocap: a folder of BVH clips with side-car captions -> a dataset in the HumanML3D layout.

For each `NAME.bvh` (with `NAME.txt`: one caption per line, optionally `caption#start#end` in seconds):
1. read it onto SMPL-22 joints at 20 fps (`motion_mamba.bvh.read_bvh`: built-in joint namings or a map);
2. retarget to the standard SMPL-22 proportions: IK on the clip's own skeleton, then forward kinematics with
   the standard offsets, the root path scaled by the leg-length ratio (HumanML3D's `uniform_skeleton` step);
3. canonicalise (floor at y = 0, root at the origin facing +Z at frame 0) and compute the 263-dim features;
4. clips longer than 196 frames are cut into consecutive windows (`NAME_000`, `NAME_001`, ...), each with the
   captions; windows shorter than 40 frames are dropped.
Splits are a stable hash of the clip name. Mean/Std come from the train split, or are copied from an existing
dataset (`mean_std_from`), which fine-tuning a trained model needs.
"""

from __future__ import annotations


import zlib
from pathlib import Path

import numpy as np

from ..bvh import read_bvh
from ..features import canonicalize, joints_to_features
from ..kinematics import fit_rotations, forward_kinematics
from ..skeleton import SMPL22
from .humanml3d import HUMANML3D, check_layout
from .layout import FeatureStats, LayoutWriter, text_line, write_clip
from .synth.captions import tokens

_LEGS = [(1, 4), (4, 7), (2, 5), (5, 8)]  # hip-knee, knee-ankle bones used for the root-path scale


def retarget(joints: np.ndarray) -> np.ndarray:
    """SMPL-22 joints of any proportions -> the same motion on the standard SMPL-22 skeleton (T, 22, 3)."""
    ik = fit_rotations(joints)
    own = np.mean([np.linalg.norm(joints[:, c] - joints[:, p], axis=-1).mean() for p, c in _LEGS])
    std = np.mean([SMPL22.bone_lengths[c] for _, c in _LEGS])
    root = ik.root_translation * (std / own)
    return forward_kinematics(root, ik.rotations)


def read_captions(path: Path) -> list[tuple[str, float, float]]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: caption file missing (one caption per line, next to the .bvh)")
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        parts = line.split("#")
        if len(parts) == 1:
            out.append((parts[0].strip(), 0.0, 0.0))
        elif len(parts) == 3:
            try:
                out.append((parts[0].strip(), float(parts[1]), float(parts[2])))
            except ValueError:
                raise ValueError(f"{path}:{n}: expected 'caption' or 'caption#start#end' in seconds") from None
        else:
            raise ValueError(f"{path}:{n}: expected 'caption' or 'caption#start#end' in seconds, got {line!r}")
    if not out:
        raise ValueError(f"{path}: no captions")
    return out


def _split(name: str, val: float, test: float) -> str:
    u = (zlib.crc32(name.encode()) % 10000) / 10000.0
    return "test" if u < test else "val" if u < test + val else "train"


def import_bvh_folder(src: str | Path, out: str | Path, joint_map: dict[str, str] | None = None,
                      units: str | float = "auto", up: str = "y", mean_std_from: str | Path | None = None,
                      val: float = 0.05, test: float = 0.05, overwrite: bool = False) -> dict:
    src = Path(src)
    if not src.is_dir():
        raise FileNotFoundError(f"{src}: no such folder of .bvh files")
    files = sorted(src.glob("*.bvh"))
    if not files:
        raise ValueError(f"{src}: contains no .bvh files")
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise ValueError(f"--val and --test must be fractions with val + test < 1, got {val}, {test}")
    if mean_std_from is not None:
        check_layout(mean_std_from, HUMANML3D, "train")
    for f in files:  # every caption file first, so a missing one fails before any work
        read_captions(f.with_suffix(".txt"))
    writer = LayoutWriter(out, overwrite=overwrite)
    stats = FeatureStats(HUMANML3D.dim)
    splits: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    dropped: list[str] = []
    try:
        for f in files:
            motion = read_bvh(f, fps=HUMANML3D.fps, joint_map=joint_map, units=units, up=up)
            joints = canonicalize(retarget(motion.joints)).astype(np.float32)
            caps = read_captions(f.with_suffix(".txt"))
            L = HUMANML3D.max_length
            starts = range(0, len(joints), L) if len(joints) > L else [0]
            for k, s0 in enumerate(starts):
                window = joints[s0 : s0 + L]
                cid = f.stem if len(starts) == 1 else f"{f.stem}_{k:03d}"
                if len(window) <= HUMANML3D.min_length:
                    dropped.append(cid)
                    continue
                window = canonicalize(window).astype(np.float32)
                feats = joints_to_features(window)
                lines = []
                for text, a, b in caps:
                    if a or b:  # keep sub-clip times that fall in this window, relative to it
                        a, b = a - s0 / HUMANML3D.fps, b - s0 / HUMANML3D.fps
                        if b <= 0 or a >= len(window) / HUMANML3D.fps:
                            continue
                        a, b = max(a, 0.0), min(b, len(window) / HUMANML3D.fps)
                    lines.append(text_line(text.lower(), tokens(text), a, b))
                if not lines:
                    dropped.append(cid)
                    continue
                write_clip(writer.root, cid, window, feats, lines)
                split = _split(cid, val, test)
                splits[split].append(cid)
                if split == "train":
                    stats.add(feats)
        if not any(splits.values()):
            raise ValueError(f"{src}: no clip is at least {HUMANML3D.min_length + 1} frames long at 20 fps")
        if mean_std_from is not None:
            mean = np.load(Path(mean_std_from) / "Mean.npy")
            std = np.load(Path(mean_std_from) / "Std.npy")
        else:
            if stats.n < 2:
                for ids in splits.values():
                    for cid in ids:
                        stats.add(np.load(writer.root / "new_joint_vecs" / f"{cid}.npy"))
            mean, std = stats.mean_std()
        writer.commit(splits, mean, std)
    except BaseException:
        writer.abort()
        raise
    return {"out": str(out), "clips": sum(len(v) for v in splits.values()), **{k: len(v) for k, v in splits.items()},
            "dropped": dropped}



