"""A tiny corpus in the HumanML3D layout (features from FK-built walks), for the training and evaluation CLIs."""

from pathlib import Path

import numpy as np
from motion_fixtures import walk_clip

from motion_mamba.features import joints_to_features, mean_std

KINDS = [  # (caption, walk_clip kwargs)
    ("a person walks forward slowly", dict(speed=0.6)),
    ("a person walks forward quickly", dict(speed=1.6)),
    ("a person walks in a circle", dict(speed=0.8, turn_deg=300.0)),
    ("a person steps sideways", dict(facing_deg=-90.0, heading_deg=0.0, speed=0.6)),
]


def write_tiny_corpus(root: Path, n_train: int = 24, n_val: int = 8, n_test: int = 40, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    (root / "new_joint_vecs").mkdir(parents=True)
    (root / "texts").mkdir()
    ids = {"train": [], "val": [], "test": []}
    n = 0
    for split, count in (("train", n_train), ("val", n_val), ("test", n_test)):
        for i in range(count):
            caption, kw = KINDS[i % len(KINDS)]
            T = int(rng.integers(48, 72))
            feats = joints_to_features(walk_clip(T, **kw)).astype(np.float32)
            name = f"{n:06d}"
            np.save(root / "new_joint_vecs" / f"{name}.npy", feats)
            (root / "texts" / f"{name}.txt").write_text(f"{caption}#a/DET person/NOUN#0.0#0.0\n"
                                                       f"someone: {caption}#x/X#0.0#0.0\n")
            ids[split].append(name)
            n += 1
    train = np.concatenate([np.load(root / "new_joint_vecs" / f"{n}.npy") for n in ids["train"]])
    mean, std = mean_std(train)
    np.save(root / "Mean.npy", mean.astype(np.float32))
    np.save(root / "Std.npy", np.maximum(std, 1e-6).astype(np.float32))
    for split, names in ids.items():
        (root / f"{split}.txt").write_text("\n".join(names) + "\n")
    return root
