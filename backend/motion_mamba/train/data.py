"""Training and evaluation read clips through the HumanML3D loader (`data.humanml3d.load_entries`: the real dataset,
KIT-ML and our procedural corpus share the layout). A caption with start/end times is its own clip there.

`ClipSet[i]` gives (raw features (T, F), all its captions); a training step picks one caption per clip with the
step's generator (`train.loop.StepRandom`): every epoch sees a different caption of each clip, and a resumed run
sees the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np


@dataclass
class Clip:
    name: str
    features: np.ndarray  # (T, F) float32, dataset units
    captions: list[str]
    tokens: list[str]  # "word/POS ..." per caption, for the official T2M evaluator


class ClipSet:
    def __init__(self, clips: list[Clip], root: Path, split: str, mean: np.ndarray, std: np.ndarray):
        self.clips = clips
        self.root = root
        self.split = split
        self.mean = mean  # the dataset's Mean.npy / Std.npy (train split; Std averaged per feature group)
        self.std = std

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int) -> tuple[np.ndarray, list[str]]:
        clip = self.clips[i]
        return clip.features, clip.captions


def pick_caption(captions: Sequence[str], rng: np.random.Generator) -> str:
    """One caption of a clip, drawn with a training step's generator."""
    return captions[int(rng.integers(len(captions)))]


def load_split(root: str | Path, split: str, skeleton: str = "smpl22", max_clips: int = 0) -> ClipSet:
    """One split of a HumanML3D-layout folder; `max_clips` > 0 keeps the first that many clips.

    "test:KIND" keeps the test clips whose kind in test_heldout.csv (procedural corpus) is KIND, e.g.
    test:phrasing (held-out wordings) or test:composition (held-out action orders)."""
    from ..data.humanml3d import SPECS, DatasetError, load_entries

    spec = SPECS["kit" if skeleton == "kit21" else "humanml3d"]
    base, _, kind = split.partition(":")
    entries = load_entries(root, base, spec)  # type: ignore[arg-type]
    if kind:
        table = Path(root) / f"{base}_heldout.csv"
        if not table.is_file():
            raise DatasetError(f"{table}: missing; split {split!r} needs the corpus' held-out kinds per clip")
        kinds = dict(line.split(",", 1) for line in table.read_text().splitlines()[1:] if "," in line)
        entries = [e for e in entries if kinds.get(e.id.split("#")[0], "").strip() == kind]
        if not entries:
            raise DatasetError(f"{table}: no {base} clip of kind {kind!r}")
    if max_clips > 0:
        entries = entries[:max_clips]
    clips = [Clip(e.id, np.asarray(e.motion, np.float32), [c for c, _ in e.captions], [t for _, t in e.captions])
             for e in entries]
    root = Path(root)
    mean = np.load(root / "Mean.npy", allow_pickle=False).astype(np.float32)
    std = np.load(root / "Std.npy", allow_pickle=False).astype(np.float32)
    return ClipSet(clips, root, split, mean, std)
