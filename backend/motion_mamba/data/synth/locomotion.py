"""Stepping: a pelvis path from a velocity/turn plan, footsteps planted under it, swing arcs between them.

Each foot alternates stance (toe fixed in the world, heel peeling up before lift-off) and swing (minimum-jerk
arc to the next footstep). A footstep lands where the foot will be under its hip at mid-stance, so the same
planner walks, runs (duty < 0.5 gives a flight phase), side-steps, walks backwards and turns on the spot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .body import HANG, NEUTRAL_TOE, SIDE, TOE_OUT, State, Tracks, heading_frame
from .curves import FPS, ease, envelope, frames, timeline


@dataclass
class Gait:
    cadence: float  # steps per second (both feet together)
    duty: float  # fraction of a stride a foot is on the ground (< 0.5: flight phase)
    lift: float  # toe clearance at mid-swing, metres
    heel: float  # heel lift at toe-off, radians
    crouch: float = 0.0  # pelvis lowered by, metres
    bob: float = 0.0  # extra pelvis oscillation (runs), metres
    lean: float = 0.0  # pelvis + torso forward lean, radians
    arm_swing: float = 0.12  # wrist fore-aft amplitude, metres
    arms_bent: float = 0.0  # 0 hanging .. 1 elbows at 90 degrees (running)


WALK = Gait(cadence=1.9, duty=0.62, lift=0.07, heel=0.35, lean=0.04)
JOG = Gait(cadence=2.6, duty=0.45, lift=0.11, heel=0.45, crouch=0.02, bob=0.025, lean=0.1, arm_swing=0.12, arms_bent=0.8)
RUN = Gait(cadence=2.9, duty=0.36, lift=0.16, heel=0.5, crouch=0.03, bob=0.035, lean=0.16, arm_swing=0.17, arms_bent=1.0)
SNEAK = Gait(cadence=1.3, duty=0.72, lift=0.06, heel=0.15, crouch=0.14, lean=0.25, arm_swing=0.04, arms_bent=0.6)
SHUFFLE = Gait(cadence=1.7, duty=0.65, lift=0.05, heel=0.2, arm_swing=0.0)  # side-steps and turning on the spot


def step(state: State, move_s: float, fwd: float, side: float, turn: float, gait: Gait, rng: np.random.Generator,
         lead: int | None = None) -> Tracks:
    """Move for `move_s` seconds at `fwd`/`side` m/s (body frame) while turning by `turn` radians in all.

    Speeds ramp in and out, then the feet finish their steps and come to rest side by side under the pelvis.
    """
    Ts = 1.0 / gait.cadence  # one step
    Tc = 2.0 * Ts  # one stride
    swing = (1.0 - gait.duty) * Tc
    t0 = 0.12
    speed = np.hypot(fwd, side)
    delay = 0.15 * float(np.clip(1.0 - speed / 2.0, 0.0, 1.0))  # slow feet lift before travelling; running feet cannot
    # 1) schedule: alternate feet, lead foot first; the last steps land at the final pelvis pose
    if lead is None:
        lead = 0 if side > 0 or turn > 0 else 1 if side < 0 or turn < 0 else int(rng.integers(2))
    swings: list[tuple[int, float, float, float]] = []  # (foot, start, end, time the footstep is aimed at)
    for foot, offset in ((lead, 0.0), (1 - lead, Ts)):
        k = 0
        while True:
            ts = t0 + offset + k * Tc
            aim = ts + swing + 0.5 * gait.duty * Tc
            swings.append((foot, ts, ts + swing, min(aim, move_s)))
            k += 1
            if aim >= move_s:
                break
    n = frames(max(end for _, _, end, _ in swings) + 0.2)
    n = max(n, frames(move_s) + 2)
    t = timeline(n)
    # 2) pelvis path: speed envelope, heading by the integrated turn rate, position by the rotated velocity
    # accelerate at about 2.5 m/s^2 and brake at 3 m/s^2, so first and last steps stay short; a move too brief
    # to reach the requested speed at those rates peaks lower
    rise, fall = max(0.5, speed / 2.5), max(0.6, speed / 3.0)
    if rise + fall > move_s:
        k = move_s / (rise + fall)
        rise, fall, fwd, side, speed = rise * k, fall * k, fwd * k, side * k, speed * k
    ramp = envelope(n, rise=rise, fall=fall, end=move_s)
    ramp_sum = max(ramp.sum() / FPS, 1e-6)
    heading = state.heading + np.cumsum(ramp * turn / ramp_sum) / FPS
    heading = np.concatenate([[state.heading], heading[:-1]])
    vel = heading_frame(heading, np.stack([ramp * side, np.zeros(n), ramp * fwd], axis=-1))
    xz = state.xz + np.concatenate([[[0.0, 0.0]], np.cumsum(vel[:-1, [0, 2]], axis=0) / FPS])
    tr = Tracks.stand(state, n)
    tr.root_xz, tr.heading = xz, heading
    # 3) feet: stance holds the toe, swing arcs to the aimed footstep; heel peels up before lift-off
    at = lambda time: min(int(round(time * FPS)), n - 1)  # noqa: E731
    for foot in (0, 1):
        cur, cur_yaw = state.toe[foot].copy(), state.foot_yaw[foot]
        for f, ts, te, aim in sorted(s for s in swings if s[0] == foot):
            i = at(aim)
            yaw = heading[i] + TOE_OUT * SIDE[foot]
            nxt = heading_frame(np.array(heading[i]), NEUTRAL_TOE[foot]) + np.array([xz[i, 0], 0.0, xz[i, 1]])
            sel = t >= ts
            u = np.clip((t[sel] - ts) / swing, 0.0, 1.0)
            # the toe clears the floor before it travels and stops before it comes down (no skimming)
            w = ease((u - delay) / (1.0 - 2.0 * delay))[:, None]
            pos = cur + (nxt - cur) * w
            far = np.linalg.norm((nxt - cur)[[0, 2]])
            pos[:, 1] += max(gait.lift, 0.08) * ease(u / 0.25) * ease((1.0 - u) / 0.25)
            tr.toe[sel, foot] = pos
            tr.foot_yaw[sel, foot] = cur_yaw + (yaw - cur_yaw) * w[:, 0]
            heel = gait.heel * min(1.0, far / 0.3)
            pre = (t >= ts - 0.35 * gait.duty * Tc) & (t < ts)
            tr.foot_pitch[pre, foot] = np.maximum(tr.foot_pitch[pre, foot],
                                                  heel * ease((t[pre] - ts + 0.35 * gait.duty * Tc) / (0.35 * gait.duty * Tc)))
            inswing = sel & (t < te)
            tr.foot_pitch[inswing, foot] = heel * (1.0 - ease((t[inswing] - ts) / (0.6 * swing)))
            cur, cur_yaw = nxt, yaw
    _clear_feet(tr, t, swings, swing)
    # 4) upper body: counter-rotating pelvis and shoulders, arms swinging against the legs, lean and bob
    right_first = swings[0][1] if lead == 1 else swings[0][1] + Ts
    psi = 2 * np.pi * (t - right_first) / Tc
    fr = np.sin(psi - np.pi * (1.0 - gait.duty)) * ramp  # right foot ahead of the pelvis > 0
    amount = min(1.0, speed / 1.2)
    tr.tilt[:, 2] = 0.07 * amount * fr * np.sign(fwd if fwd else 1.0)
    tr.tilt[:, 0] = gait.lean * ramp * np.sign(fwd if abs(fwd) > 0.05 else 1.0)
    tr.tilt[:, 1] = 0.03 * ramp * np.sin(psi - np.pi * (1.0 - gait.duty) + np.pi / 2)
    tr.spine[:, 2] = -1.3 * tr.tilt[:, 2]
    tr.spine[:, 0] = 0.6 * gait.lean * ramp
    tr.height = tr.height - gait.crouch * ease(t / 0.4) * ease((n / FPS - t) / 0.4)
    if gait.bob:
        tr.height = tr.height - gait.bob * ramp * np.cos(2 * psi - 2 * np.pi * (1.0 - gait.duty) - np.pi)
    swing_amp = gait.arm_swing * min(1.0, speed / 1.0 + 0.2) * (1.0 if fwd >= 0 else 0.5)
    bent = np.array([[0.08, -0.3, 0.2], [-0.08, -0.3, 0.2]])
    arms = HANG[None] + (bent - HANG)[None] * gait.arms_bent * ease(t / 0.3)[:, None, None] * ease((n / FPS - t) / 0.4)[:, None, None]
    arms[:, 0, 2] += swing_amp * fr
    arms[:, 1, 2] -= swing_amp * fr
    tr.hand = arms
    return tr


def _clear_feet(tr: Tracks, t: np.ndarray, swings: list, swing: float, clear: float = 0.18) -> None:
    """Bow a swing path outwards where it would cut through the other foot (turning steps arc around the body)."""
    for foot, ts, te, _ in swings:
        sel = (t >= ts) & (t <= te)
        if not sel.any():
            continue
        gap = (tr.toe[sel, foot] - tr.toe[sel, 1 - foot])[:, [0, 2]]
        dist = np.linalg.norm(gap, axis=-1)
        need = clear - dist.min()
        if need <= 0:
            continue
        k = int(dist.argmin())
        lateral = heading_frame(np.array(tr.heading[sel][k]), np.array([SIDE[foot], 0.0, 0.0]))
        u = np.clip((t[sel] - ts) / swing, 0.0, 1.0)
        tr.toe[sel, foot] += need * np.sin(np.pi * u)[:, None] ** 2 * lateral

