"""Training and evaluation read clips in the HumanML3D layout (the real dataset, KIT-ML, and our procedural corpus):

    DIR/new_joint_vecs/<id>.npy   (T, F) features in dataset units
    DIR/texts/<id>.txt            one caption per line: "caption#word/POS ...#start#end" (0#0: whole clip)
    DIR/{train,val,test}.txt      clip ids, one per line

A caption with start/end seconds describes only that segment, which becomes its own clip (as the T2M loaders do).
`ClipSet[i]` gives (features, caption) with the caption drawn with numpy's global RNG, which the training loop
seeds per step, so each epoch sees a different caption of each clip and a resumed run sees the same ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MIN_FRAMES = 4  # shorter clips/segments cannot feed the evaluator's 4x temporal downsampling


@dataclass
class Clip:
    name: str
    features: np.ndarray  # (T, F) float32, dataset units
    captions: list[str]
    tokens: list[list[str]] = field(default_factory=list)  # "word/POS" per caption, for the official T2M evaluator


class ClipSet:
    def __init__(self, clips: list[Clip], root: Path, split: str):
        self.clips = clips
        self.root = root
        self.split = split

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, i: int) -> tuple[np.ndarray, str]:
        clip = self.clips[i]
        return clip.features, clip.captions[np.random.randint(len(clip.captions))]

    def features(self) -> list[np.ndarray]:
        return [c.features for c in self.clips]


def load_split(root: str | Path, split: str, nfeats: int, fps: float = 20.0, max_clips: int = 0) -> ClipSet:
    """Read one split; every problem names the file. `max_clips` > 0 keeps the first that many ids."""
    root = Path(root)
    ids_file = root / f"{split}.txt"
    if not ids_file.is_file():
        raise FileNotFoundError(f"{ids_file}: missing; --data must point at a HumanML3D-layout folder "
                                f"(create one with `motion-mamba data synth --out DIR`)")
    ids = [line.strip() for line in ids_file.read_text().splitlines() if line.strip()]
    if max_clips > 0:
        ids = ids[:max_clips]
    clips = []
    for name in ids:
        feat_file, text_file = root / "new_joint_vecs" / f"{name}.npy", root / "texts" / f"{name}.txt"
        if not feat_file.is_file() or not text_file.is_file():
            continue  # HumanML3D's split files list a few ids without data; its loaders skip them too
        feats = np.load(feat_file, allow_pickle=False)
        if feats.ndim != 2 or feats.shape[1] != nfeats:
            raise ValueError(f"{feat_file}: features must be (T, {nfeats}), got {feats.shape}")
        if not np.all(np.isfinite(feats)):
            raise ValueError(f"{feat_file}: contains NaN or infinite values")
        whole: Clip | None = None
        for n, line in enumerate(text_file.read_text().splitlines()):
            if not line.strip():
                continue
            parts = line.strip().split("#")
            caption = parts[0].strip()
            tokens = parts[1].split(" ") if len(parts) > 1 else []
            try:
                start, end = (float(parts[2]), float(parts[3])) if len(parts) >= 4 else (0.0, 0.0)
            except ValueError:
                raise ValueError(f"{text_file}:{n + 1}: start/end seconds are not numbers") from None
            if start == 0.0 and end == 0.0:
                if whole is None:
                    whole = Clip(name, feats.astype(np.float32), [], [])
                    clips.append(whole)
                whole.captions.append(caption)
                whole.tokens.append(tokens)
            else:
                seg = feats[int(start * fps):int(end * fps)]
                if len(seg) >= MIN_FRAMES:
                    clips.append(Clip(f"{name}#{n}", seg.astype(np.float32), [caption], [tokens]))
    clips = [c for c in clips if len(c.features) >= MIN_FRAMES and c.captions]
    if not clips:
        raise ValueError(f"{ids_file}: no usable clips (need new_joint_vecs/<id>.npy and texts/<id>.txt)")
    return ClipSet(clips, root, split)
