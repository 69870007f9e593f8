"""Shared vocabulary of the action families: the `Family` record, parameter pickers and keyframe helpers.

A family is a pair (sample, build). `sample(rng, short)` draws parameters (handedness, amplitude, speed,
repetitions, direction ...) as a plain JSON-able dict that the caption grammar reads too; `short=True` asks for
the briefest version so a sequence fits in 196 frames. `build(state, params, rng)` starts from where the body
was left and ends standing still with both feet planted, so actions chain without pops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .body import SIDE, State, Tracks
from .curves import ease, keyed

Params = dict
HANDS = {"left": (0,), "right": (1,), "both": (0, 1)}
SPEEDS = {"slowly": 0.7, "normal": 1.0, "quickly": 1.4}  # tempo multipliers of the caption adverbs


@dataclass(frozen=True)
class Family:
    name: str
    group: str  # locomotion, jump, arm, leg, body
    sample: Callable[[np.random.Generator, bool], Params]
    build: Callable[[State, Params, np.random.Generator], Tracks]


def pick(rng: np.random.Generator, options: list, p: list[float] | None = None):
    return options[int(rng.choice(len(options), p=p))]


def speed(rng: np.random.Generator, short: bool) -> str:
    return "normal" if short else pick(rng, list(SPEEDS), p=[0.25, 0.5, 0.25])


def hand(rng: np.random.Generator, both: bool = True) -> str:
    return pick(rng, ["left", "right", "both"] if both else ["left", "right"], p=[0.4, 0.4, 0.2] if both else None)


def around_shoulder(times: list[float], poses: list) -> tuple[list[float], list]:
    """Insert a waypoint out in front wherever a straight wrist path would pass through the shoulder (arm up)."""
    out_t, out_p = [times[0]], [np.asarray(poses[0], dtype=np.float64)]
    for t1, p1 in zip(times[1:], poses[1:]):
        a, b = out_p[-1], np.asarray(p1, dtype=np.float64)
        ab = b - a
        u = np.clip(-(a @ ab) / max(ab @ ab, 1e-9), 0.0, 1.0)
        if np.linalg.norm(a + u * ab) < 0.25:
            mid = a + 0.5 * ab + np.array([0.2, 0.0, 0.35])
            out_t.append(0.5 * (out_t[-1] + t1))
            out_p.append(0.45 * mid / np.linalg.norm(mid))
        out_t.append(t1)
        out_p.append(b)
    return out_t, out_p


def pose_track(tr: Tracks, times: list[float], poses: list, hands=(0, 1), field: str = "hand") -> None:
    """Key the wrists (or elbow poles) of `hands` through poses given for the left hand (mirrored for the right)."""
    if field == "hand":
        times, poses = around_shoulder(times, poses)
    else:
        times, poses = list(times), list(poses)
    for s in hands:
        vals = [np.asarray(p, dtype=np.float64) * np.array([SIDE[s], 1.0, 1.0]) for p in poses]
        getattr(tr, field)[:, s] = keyed(len(tr), times, vals)


def hold_times(up: float, hold: float, down: float, start: float = 0.15) -> list[float]:
    return [start, start + up, start + up + hold, start + up + hold + down]


def plant_track(tr: Tracks, s: int, times: list[float], rel_poses: list, pitches: list, weights: list) -> None:
    """Blend foot `s` between its planted position (weight 0) and pelvis-relative poses (weight 1) via keys."""
    n = len(tr)
    rel = keyed(n, times, rel_poses)
    w = keyed(n, times, weights)[:, None]
    free = tr.to_world(rel * np.array([SIDE[s], 1, 1]))
    tr.toe[:, s] = tr.toe[:, s] + (free - tr.toe[:, s]) * w
    tr.foot_pitch[:, s] = keyed(n, times, pitches)


def swing(track: np.ndarray, t: np.ndarray, t0: float, dur: float, a: np.ndarray, b: np.ndarray,
           lift: float = 0.09) -> np.ndarray:
    """`track` with a step from toe position a to b during [t0, t0 + dur]: up first, across, then down."""
    u = np.clip((t - t0) / dur, 0.0, 1.0)
    pos = a + (b - a) * ease((u - 0.15) / 0.7)[:, None]
    pos[:, 1] += lift * ease(u / 0.25) * ease((1.0 - u) / 0.25)
    return np.where((t >= t0)[:, None], pos, track)
