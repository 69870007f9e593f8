"""Speed of the procedural corpus: per-clip cost by stage, and end-to-end clips/s of `data synth`.

    $ .venv/bin/python bench/synth.py                 # 1,000 clips, 2 workers (~30 s on 2 idle cores)
    $ .venv/bin/python bench/synth.py --clips 10000   # the brief's budget: <= 3 min on 2 cores

Stage timings alternate over the same clips and report medians, so load from other processes hits all stages
alike; the end-to-end figure is wall-clock and is printed with the load average it ran under.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np

from motion_mamba.data.synth.body import solve
from motion_mamba.data.synth.compose import finish, plan
from motion_mamba.data.synth.corpus import _sequence, generate
from motion_mamba.features import canonicalize, joints_to_features


def stages(n: int) -> None:
    t_plan, t_solve, t_feat, frames = [], [], [], []
    for i in range(n):
        rng = np.random.default_rng([0, i])
        t0 = time.perf_counter()
        _, tr = plan(_sequence("train", rng), rng)
        tr = finish(tr, rng)
        t1 = time.perf_counter()
        _, _, joints = solve(tr)
        t2 = time.perf_counter()
        joints_to_features(canonicalize(joints))
        t3 = time.perf_counter()
        t_plan.append(t1 - t0)
        t_solve.append(t2 - t1)
        t_feat.append(t3 - t2)
        frames.append(len(joints))
    ms = lambda xs: 1000 * statistics.median(xs)  # noqa: E731
    total = ms(t_plan) + ms(t_solve) + ms(t_feat)
    print(f"per clip (median of {n}, {np.mean(frames):.0f} frames avg): plan {ms(t_plan):.1f} ms, "
          f"IK+FK {ms(t_solve):.1f} ms, features {ms(t_feat):.1f} ms; total {total:.1f} ms "
          f"-> {2 * 1000 / total:.0f} clips/s on 2 idle cores before file I/O")


def end_to_end(clips: int, workers: int) -> None:
    with tempfile.TemporaryDirectory() as d:
        load0 = os.getloadavg()[0]
        t0 = time.perf_counter()
        generate(os.path.join(d, "synth"), clips, seed=0, workers=workers, progress=False)
        dt = time.perf_counter() - t0
    print(f"data synth --clips {clips} --workers {workers}: {dt:.1f} s wall, {clips / dt:.0f} clips/s, "
          f"10k clips in {10000 / (clips / dt) / 60:.1f} min (load average {load0:.1f} -> {os.getloadavg()[0]:.1f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clips", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--stage-clips", type=int, default=100)
    args = ap.parse_args()
    stages(args.stage_clips)
    end_to_end(args.clips, args.workers)


if __name__ == "__main__":
    main()
