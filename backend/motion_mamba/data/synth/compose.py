"""A clip = 1-3 actions chained into one motion: each starts where the previous one left the body, and the
whole is given idle secondary motion (breathing-scale torso and head drift) and a light smoothing of the
posture channels. Planted feet and the pelvis path are not smoothed, so contacts stay exact."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from .actions import FAMILIES, Params
from .body import State, Tracks, solve
from .curves import FPS, frames, wobble

MIN_FRAMES, MAX_FRAMES = 44, 196  # HumanML3D clip lengths at 20 fps (>= 40 feature rows after the 1-frame loss)
_RESERVE = 40  # frames kept free for each action still to come


@dataclass
class Action:
    family: str
    params: Params

    def to_json(self) -> dict:
        return {"family": self.family, "params": self.params}


def _fit(name: str, state: State, budget: int, rng: np.random.Generator) -> tuple[Params, Tracks] | None:
    """Sample the family's parameters until it fits `budget` frames (the briefer variants after two tries)."""
    fam = FAMILIES[name]
    for attempt in range(6):
        params = fam.sample(rng, attempt >= 2)
        tr = fam.build(state, params, rng)
        if len(tr) <= budget:
            return params, tr
    return None


def plan(families: list[str], rng: np.random.Generator) -> tuple[list[Action], Tracks]:
    """Sample parameters so the chain fits in MAX_FRAMES (briefer variants first, then dropping trailing actions)."""
    state = State.start()
    actions: list[Action] = []
    parts: list[Tracks] = []
    used = 0
    for i, name in enumerate(families):
        last = i + 1 == len(families)
        fitted = _fit(name, state, MAX_FRAMES - used - _RESERVE * (len(families) - i - 1), rng)
        if fitted is None and not last:
            last = True  # make room by dropping the actions after this one
            fitted = _fit(name, state, MAX_FRAMES - used, rng)
        if fitted is None:
            break
        params, tr = fitted
        actions.append(Action(name, params))
        parts.append(tr)
        used += len(tr)
        state = tr.end_state()
        if last:
            break
    if not parts:
        raise RuntimeError(f"no action of {families} fits in {MAX_FRAMES} frames")
    if used < MIN_FRAMES:
        parts.append(Tracks.stand(state, MIN_FRAMES - used + frames(0.3)))
    return actions, Tracks.concat(parts)


def finish(tr: Tracks, rng: np.random.Generator) -> Tracks:
    """Add a per-clip posture style and idle secondary motion; smooth the posture channels (sigma 1 frame)."""
    n = len(tr)
    # style: how this "actor" carries themself (slouch, head carriage, arms a little out or forward)
    tr.spine = tr.spine + np.array([rng.uniform(-0.04, 0.08), 0.0, 0.0])
    tr.neck = tr.neck + np.array([rng.uniform(-0.1, 0.1), 0.0, 0.0])
    tr.hand = tr.hand + np.array([rng.uniform(0.0, 0.04), 0.0, rng.uniform(-0.02, 0.04)]) * np.array([[1, 1, 1], [-1, 1, 1]])
    tr.spine = tr.spine + np.stack([wobble(rng, n, 0.03), wobble(rng, n, 0.02), wobble(rng, n, 0.03)], -1)
    tr.neck = tr.neck + np.stack([wobble(rng, n, 0.05), wobble(rng, n, 0.03), wobble(rng, n, 0.08)], -1)
    tr.hand = tr.hand + np.stack([wobble(rng, n, 0.01) for _ in range(6)], -1).reshape(n, 2, 3)
    for name in ("height", "tilt", "spine", "neck", "hand", "elbow"):
        setattr(tr, name, gaussian_filter1d(getattr(tr, name), 1.0, axis=0, mode="nearest"))
    return tr


def synthesize(families: list[str], rng: np.random.Generator) -> tuple[list[Action], np.ndarray]:
    """-> (the actions actually performed with their parameters, joints (T, 22, 3) at 20 fps, metres)."""
    actions, tr = plan(families, rng)
    _, _, joints = solve(finish(tr, rng))
    return actions, joints


__all__ = ["Action", "FPS", "MAX_FRAMES", "MIN_FRAMES", "plan", "finish", "synthesize"]
