"""Smooth 1-D building blocks for procedural motion: minimum-jerk easing, keyframe tracks and envelopes.

Every curve here has zero velocity and acceleration at its keys (quintic `10u^3 - 15u^4 + 6u^5`), so tracks
built from them have bounded jerk by construction, and tracks that start and end at rest concatenate smoothly.
"""

from __future__ import annotations

import numpy as np

FPS = 20.0  # HumanML3D frame rate; every synthetic clip is generated at it


def ease(u: np.ndarray) -> np.ndarray:
    """Minimum-jerk ease 0 -> 1 on u in [0, 1] (clipped outside)."""
    u = np.clip(u, 0.0, 1.0)
    return u * u * u * (10.0 + u * (-15.0 + 6.0 * u))


def frames(seconds: float) -> int:
    return max(1, int(round(seconds * FPS)))


def timeline(n: int) -> np.ndarray:
    """(n,) times in seconds of frames 0..n-1."""
    return np.arange(n) / FPS


def keyed(n: int, times: list[float], values: list, t: np.ndarray | None = None) -> np.ndarray:
    """Track through keyframes (time in s, value array) with minimum-jerk segments; held before/after the ends.

    Returns (n, *value_shape). Keys must be sorted by time.
    """
    t = timeline(n) if t is None else t
    vals = np.asarray(values, dtype=np.float64)
    out = np.broadcast_to(vals[0], (n,) + vals.shape[1:]).copy()
    for (t0, t1), v0, v1 in zip(zip(times[:-1], times[1:]), vals[:-1], vals[1:]):
        if t1 <= t0:
            continue
        sel = t >= t0
        w = ease((t[sel] - t0) / (t1 - t0)).reshape((-1,) + (1,) * (vals.ndim - 1))
        out[sel] = v0 + (v1 - v0) * w
    return out


def envelope(n: int, rise: float, fall: float, start: float = 0.0, end: float | None = None) -> np.ndarray:
    """(n,) 0 -> 1 over `rise` s from `start`, back to 0 over `fall` s ending at `end` (default: the last frame)."""
    t = timeline(n)
    end = t[-1] if end is None else end
    return ease((t - start) / max(rise, 1e-6)) * ease((end - t) / max(fall, 1e-6))


def wobble(rng: np.random.Generator, n: int, amp: float, freqs: tuple[float, float] = (0.15, 0.6), k: int = 3) -> np.ndarray:
    """(n,) smooth random drift: a sum of k sines with random frequency/phase, peak about `amp` (idle motion)."""
    t = timeline(n)
    f = rng.uniform(*freqs, size=k)
    ph = rng.uniform(0, 2 * np.pi, size=k)
    a = rng.uniform(0.5, 1.0, size=k)
    return amp * (np.sin(2 * np.pi * f[:, None] * t[None] + ph[:, None]) * a[:, None]).sum(0) / a.sum()
