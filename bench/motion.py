"""Throughput of the motion core in frames per second, measured side by side in one run.

    $ .venv/bin/python bench/motion.py            # ~20 s on 2 cores
    $ .venv/bin/python bench/motion.py --quick

Timings alternate between the operations and the median of each is taken, so load from other processes on a
shared CPU hits all alike. Ratios are against forward kinematics of the same clip. The dataset writer's budget:
10k clips of ~200 frames in < 3 min, i.e. joints_to_features well under 18 ms per clip (target < 2 ms).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "backend"))
from motion_fixtures import turning_clip  # noqa: E402

from motion_mamba.bvh import read_bvh, write_bvh  # noqa: E402
from motion_mamba.features import features_to_joints, joints_to_features  # noqa: E402
from motion_mamba.kinematics import fit_rotations, forward_kinematics  # noqa: E402
from motion_mamba.motion import Motion  # noqa: E402


def bench(fns: dict[str, Callable[[], None]], repeats: int) -> dict[str, float]:
    """Median seconds per call, calls interleaved round-robin."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():
        fn()  # warm up
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    T, repeats = args.frames, (5 if args.quick else 40)
    torch.set_num_threads(1)

    joints, root, rot = turning_clip(T, turns=2.0, with_rotations=True)
    feats = joints_to_features(joints)
    batch = torch.from_numpy(np.stack([feats] * 64))  # (64, T-1, 263) float32, as the model decodes
    tmp = Path(tempfile.mkdtemp(prefix="mm-bench-"))
    bvh = tmp / "clip.bvh"
    motion = Motion(joints=joints, fps=20.0)
    write_bvh(bvh, motion)

    fns = {
        "forward_kinematics": lambda: forward_kinematics(root, rot),
        "joints_to_features": lambda: joints_to_features(joints),
        "features_to_joints (numpy)": lambda: features_to_joints(feats),
        "features_to_joints (torch, batch 64)": lambda: features_to_joints(batch),
        "joints_to_rotations (IK)": lambda: fit_rotations(joints),
        "write_bvh": lambda: write_bvh(bvh, motion),
        "read_bvh": lambda: read_bvh(bvh),
    }
    med = bench(fns, repeats)
    fk = med["forward_kinematics"]
    print(f"clip: {T} frames, 22 joints, median of {repeats} interleaved runs, 1 torch thread")
    print(f"{'operation':40s} {'ms/clip':>9s} {'frames/s':>12s} {'x FK time':>10s}")
    for name, sec in med.items():
        frames = T * (64 if "batch 64" in name else 1)
        print(f"{name:40s} {sec * 1e3:9.3f} {frames / sec:12,.0f} {sec / fk:10.2f}")
    clips = 10_000 * med["joints_to_features"]
    print(f"dataset writer estimate: 10k clips of {T} frames -> {clips:.1f} s in joints_to_features")


if __name__ == "__main__":
    main()
