"""The action families of the procedural corpus: each samples its parameters and turns them into `Tracks`.

A family is a pair (sample, build). `sample(rng, short)` draws parameters (handedness, amplitude, speed,
repetitions, direction ...) as a plain JSON-able dict that the caption grammar reads too; `short=True` asks for
the briefest version so a sequence fits in 196 frames. `build(state, params, rng)` starts from where the body
was left and ends standing still with both feet planted, so actions chain without pops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .body import HANG, SIDE, STAND_HEIGHT, State, Tracks, heading_frame
from .curves import FPS, ease, envelope, frames, keyed, timeline
from .locomotion import JOG, RUN, SHUFFLE, SNEAK, WALK, step

Params = dict
HANDS = {"left": (0,), "right": (1,), "both": (0, 1)}
SPEEDS = {"slowly": 0.7, "normal": 1.0, "quickly": 1.4}
G = 9.81


@dataclass(frozen=True)
class Family:
    name: str
    group: str  # locomotion, jump, arm, leg, body
    sample: Callable[[np.random.Generator, bool], Params]
    build: Callable[[State, Params, np.random.Generator], Tracks]


def _pick(rng: np.random.Generator, options, p=None):
    return options[int(rng.choice(len(options), p=p))]


def _speed(rng, short):
    return "normal" if short else _pick(rng, list(SPEEDS), p=[0.25, 0.5, 0.25])


def _hand(rng, both=True):
    return _pick(rng, ["left", "right", "both"] if both else ["left", "right"], p=[0.4, 0.4, 0.2] if both else None)


def _around_shoulder(times: list[float], poses: list) -> tuple[list[float], list]:
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


def _pose_track(tr: Tracks, times: list[float], poses: list, hands=(0, 1), field: str = "hand") -> None:
    """Key the wrists (or elbow poles) of `hands` through poses given for the left hand (mirrored for the right)."""
    if field == "hand":
        times, poses = _around_shoulder(times, poses)
    else:
        times, poses = list(times), list(poses)
    for s in hands:
        vals = [np.asarray(p, dtype=np.float64) * np.array([SIDE[s], 1.0, 1.0]) for p in poses]
        getattr(tr, field)[:, s] = keyed(len(tr), times, vals)


def _arm_hold_times(up: float, hold: float, down: float, start: float = 0.15) -> list[float]:
    return [start, start + up, start + up + hold, start + up + hold + down]


# --- locomotion --------------------------------------------------------------------------------------------
def _loco_sample(kind: str):
    def sample(rng, short):
        p: Params = {"speed": _speed(rng, short)}
        if kind in ("walk", "jog", "run", "sneak", "walk_backwards"):
            p["distance"] = float(np.round(rng.uniform(1.5, 3.0) if short else rng.uniform(2.0, 7.0), 1))
            if kind in ("walk_backwards", "sneak"):
                p["distance"] = min(p["distance"], 3.0)
        if kind == "side_step":
            p["direction"] = _pick(rng, ["left", "right"])
            p["steps"] = int(rng.integers(2, 3 if short else 6))
        if kind == "turn":
            p["direction"] = _pick(rng, ["left", "right"])
            p["angle"] = int(_pick(rng, [90, 180] if short else [90, 90, 180, 270]))
        if kind == "circle":
            p["direction"] = _pick(rng, ["left", "right"])
            p["shape"] = "curve" if short else _pick(rng, ["circle", "curve"])
        return p
    return sample


_LOCO = {"walk": (WALK, 1.25), "jog": (JOG, 2.1), "run": (RUN, 3.0), "sneak": (SNEAK, 0.5), "walk_backwards": (WALK, 0.75)}


def _loco_build(kind: str):
    def build(state, p, rng):
        k = SPEEDS[p["speed"]]
        if kind in _LOCO:
            gait, v = _LOCO[kind]
            v = v * (0.75 + 0.25 * k) * rng.uniform(0.92, 1.08)
            cad = gait.cadence * (0.85 + 0.15 * k)
            gait = type(gait)(**{**gait.__dict__, "cadence": cad})
            fwd = -v if kind == "walk_backwards" else v
            return step(state, p["distance"] / v + 0.6, fwd, 0.0, 0.0, gait, rng)
        if kind == "side_step":
            side = 0.35 * (0.7 + 0.3 * k) * (1 if p["direction"] == "left" else -1)
            return step(state, p["steps"] / SHUFFLE.cadence * 2 + 0.3, 0.0, side, 0.0, SHUFFLE, rng)
        if kind == "turn":
            ang = np.deg2rad(p["angle"]) * (1 if p["direction"] == "left" else -1)
            secs = abs(ang) / (np.deg2rad(110) * k) + 0.4
            return step(state, secs, 0.0, 0.0, ang, SHUFFLE, rng)
        # circle / curve: turn while walking forward
        ang = (2 * np.pi if p["shape"] == "circle" else np.deg2rad(rng.uniform(70, 120))) * (1 if p["direction"] == "left" else -1)
        v = 1.0 * (0.75 + 0.25 * k)
        secs = (6.5 if p["shape"] == "circle" else 3.0) / (0.8 + 0.2 * k)
        return step(state, secs, v, 0.0, ang, WALK, rng)
    return build


# --- jumps -------------------------------------------------------------------------------------------------
def _jump_sample(kind):
    def sample(rng, short):
        p: Params = {"reps": 1 if short else int(_pick(rng, [1, 1, 2, 3])), "height": _pick(rng, ["low", "high"])}
        if kind == "jump_forward":
            p["distance"] = float(np.round(rng.uniform(0.4, 1.0), 1))
        if kind == "hop":
            p["leg"] = _pick(rng, ["left", "right"])
            p["reps"] = int(rng.integers(2, 3 if short else 6))
        return p
    return sample


def _jump_build(kind):
    def build(state, p, rng):
        hop = kind == "hop"
        H = {"low": 0.14, "high": 0.28}[p["height"]] * (0.45 if hop else 1.0) * rng.uniform(0.9, 1.1)
        flight = 2 * np.sqrt(2 * H / G)
        dist = p.get("distance", 0.0)
        crouch, prep, land = (0.08, 0.35, 0.35) if hop else (0.2, 0.5, 0.45)
        cycle = prep + flight + land
        lead_in = 0.5 if hop else 0.1
        n = frames(lead_in + p["reps"] * cycle + 0.6)
        t = timeline(n)
        tr = Tracks.stand(state, n)
        x0 = state.xz.copy()
        fwd = heading_frame(np.array(state.heading), np.array([0.0, 0.0, 1.0]))[[0, 2]]
        height = np.full(n, STAND_HEIGHT)
        feet = tr.toe.copy()
        pitch = np.zeros((n, 2))
        arm = np.zeros(n)  # -1 arms back (prep) .. +1 arms forward-up (flight)
        stance = (0, 1) if not hop else (0 if p["leg"] == "left" else 1,)  # "leg" is the one hopped on
        free = () if not hop else (1 - stance[0],)
        root_xz = np.repeat(x0[None], n, axis=0)
        for r in range(p["reps"]):
            ts = lead_in + r * cycle
            take = ts + prep
            touch = take + flight
            a = ((t >= ts) & (t < take))
            height[a] -= crouch * np.sin(np.pi * (t[a] - ts) / prep) ** 2 * 0.9
            arm[a] = -np.sin(np.pi * np.clip((t[a] - ts) / prep * 1.2, 0, 1))
            push = (t >= take - 0.12) & (t < take)
            pitch[np.ix_(push, stance)] = (0.6 * ease((t[push] - take + 0.12) / 0.12))[:, None]
            f = (t >= take) & (t < touch)
            tau = t[f] - take
            v0 = np.sqrt(2 * G * H)
            height[f] = STAND_HEIGHT + 0.03 + v0 * tau - 0.5 * G * tau**2
            arm[f] = np.sin(np.pi * tau / flight)
            pitch[np.ix_(f, stance)] = (0.6 * (1 - ease(tau / flight)))[:, None]
            moved = x0 + fwd * dist * (r + ease((t - take) / flight)[:, None])
            root_xz = np.where((t >= take)[:, None], moved, root_xz)
            for s in stance:
                start = feet[0, s] + np.array([fwd[0], 0, fwd[1]]) * dist * r
                end = start + np.array([fwd[0], 0, fwd[1]]) * dist
                u = np.clip((t - take) / flight, 0, 1)[:, None]
                lift = np.maximum(height - STAND_HEIGHT, 0.0)[:, None] * np.array([0, 1.0, 0]) * (f[:, None])
                pos = start + (end - start) * ease(u) + lift * 0.9
                sel = t >= take
                feet[sel, s] = pos[sel]
            l = (t >= touch) & (t < touch + land)
            height[l] -= crouch * 0.8 * np.sin(np.pi * (t[l] - touch) / land) ** 2
        tr.root_xz = root_xz
        tr.height = height
        tr.toe = feet
        tr.foot_pitch = pitch
        if hop:
            s = free[0]
            raise_w = envelope(n, 0.4, 0.4, start=0.05, end=t[-1] - 0.1)
            rel = np.array([0.11 * SIDE[s], 0.0, -0.1])
            lifted = tr.to_world(np.tile(rel, (n, 1))) + np.array([0, 1.0, 0]) * (height[:, None] - STAND_HEIGHT + 0.28)
            base = np.repeat(state.toe[s][None], n, axis=0) + np.concatenate(
                [root_xz[:, :1] - x0[0], np.zeros((n, 1)), root_xz[:, 1:] - x0[1]], axis=1)
            tr.toe[:, s] = base + (lifted - base) * raise_w[:, None]
            tr.foot_pitch[:, s] = 0.5 * raise_w
            tr.tilt[:, 1] = 0.06 * raise_w * (1 if s == 0 else -1)
        arms_fwd = np.array([[0.1, -0.25, 0.35], [-0.1, -0.25, 0.35]])
        arms_back = np.array([[0.08, -0.42, -0.25], [-0.08, -0.42, -0.25]])
        a = arm[:, None, None]
        tr.hand = HANG + np.where(a > 0, a * (arms_fwd - HANG), -a * (arms_back - HANG)) * (0.5 if hop else 1.0)
        tr.spine[:, 0] = np.maximum(-arm, 0) * 0.35 + (STAND_HEIGHT - np.minimum(height, STAND_HEIGHT)) * 1.2
        tr.tilt[:, 0] = np.maximum(-arm, 0) * 0.15
        return tr
    return build


# --- arm actions -------------------------------------------------------------------------------------------
def _arm_sample(kind):
    def sample(rng, short):
        p: Params = {"hand": _hand(rng, both=kind not in ("point", "throw", "punch")), "speed": _speed(rng, short)}
        if kind in ("wave", "clap", "punch", "throw"):
            lo, hi = {"wave": (2, 6), "clap": (2, 7), "punch": (1, 5), "throw": (1, 3)}[kind]
            p["reps"] = int(rng.integers(lo, min(hi, lo + 2) if short else hi))
        if kind == "punch":
            p["hand"] = _pick(rng, ["left", "right", "both"], p=[0.35, 0.35, 0.3])
        if kind == "raise_arms":
            p["hand"] = _pick(rng, ["left", "right", "both"], p=[0.25, 0.25, 0.5])
            p["direction"] = _pick(rng, ["up", "forward", "sideways"])
        if kind == "point":
            p["direction"] = _pick(rng, ["forward", "sideways", "up"])
        if kind == "wave":
            p["amplitude"] = _pick(rng, ["small", "big"])
        return p
    return sample


def _arm_build(kind):
    def build(state, p, rng):
        k = SPEEDS[p["speed"]]
        hands = HANDS[p["hand"]]
        if kind == "wave":
            f = 1.8 * k
            up, hold, down = 0.55 / k, p["reps"] / f, 0.5 / k
            n = frames(up + hold + down + 0.5)
            tr = Tracks.stand(state, n)
            times = _arm_hold_times(up, hold, down)
            _pose_track(tr, times, [HANG[0], [0.27, 0.24, 0.12], [0.27, 0.24, 0.12], HANG[0]], hands)
            _pose_track(tr, times, [[0.3, 0, -1], [1.0, -0.7, 0.1], [1.0, -0.7, 0.1], [0.3, 0, -1]], hands, "elbow")
            t = timeline(n)
            amp = {"small": 0.08, "big": 0.15}[p["amplitude"]]
            osc = amp * np.sin(2 * np.pi * f * (t - times[1])) * envelope(n, 0.15, 0.15, times[1] - 0.1, times[2] + 0.1)
            for s in hands:
                tr.hand[:, s, 0] += SIDE[s] * osc
            if len(hands) == 1:
                tr.neck[:, 2] = 0.25 * SIDE[hands[0]] * envelope(n, up, down, 0.15, times[3])
            return tr
        if kind == "raise_arms":
            up, hold, down = 0.8 / k, rng.uniform(0.6, 1.5), 0.8 / k
            n = frames(up + hold + down + 0.4)
            tr = Tracks.stand(state, n)
            pose, pole = {"up": ([0.06, 0.5, 0.04], [1, 0, 0]), "forward": ([-0.02, 0.0, 0.5], [0.3, -1, 0]),
                          "sideways": ([0.5, 0.02, 0.0], [0, -0.5, -1])}[p["direction"]]
            times = _arm_hold_times(up, hold, down)
            _pose_track(tr, times, [HANG[0], pose, pose, HANG[0]], hands)
            _pose_track(tr, times, [[0.3, 0, -1], pole, pole, [0.3, 0, -1]], hands, "elbow")
            if p["direction"] == "up":
                tr.neck[:, 0] = -0.2 * envelope(n, up, down, 0.15, times[3])
            return tr
        if kind == "clap":
            f = 2.2 * k
            up, hold, down = 0.45 / k, p["reps"] / f, 0.45 / k
            n = frames(up + hold + down + 0.4)
            tr = Tracks.stand(state, n)
            times = _arm_hold_times(up, hold, down)
            ready = [-0.08, -0.12, 0.32]
            _pose_track(tr, times, [HANG[0], ready, ready, HANG[0]])
            _pose_track(tr, times, [[0.3, 0, -1], [0.8, -1, -0.2], [0.8, -1, -0.2], [0.3, 0, -1]], field="elbow")
            t = timeline(n)
            gap = 0.5 + 0.5 * np.cos(2 * np.pi * f * (t - times[1]))  # 1 hands apart, 0 together
            closed = envelope(n, 0.1, 0.1, times[1] - 0.05, times[2] + 0.05)
            for s in (0, 1):
                tr.hand[:, s, 0] += -SIDE[s] * 0.085 * closed * (1 - gap)
            return tr
        if kind == "punch":
            guard = [-0.08, 0.05, 0.2]
            reach = [-0.13, 0.04, 0.5]
            per = 0.55 / k
            order = [hands[i % len(hands)] for i in range(p["reps"])]
            n = frames(0.5 + p["reps"] * per + 0.7)
            tr = Tracks.stand(state, n)
            t = timeline(n)
            hold_end = 0.5 + p["reps"] * per
            _pose_track(tr, [0.1, 0.5, hold_end, hold_end + 0.5], [HANG[0], guard, guard, HANG[0]])
            _pose_track(tr, [0.1, 0.5, hold_end, hold_end + 0.5], [[0.3, 0, -1], [0.8, -1, -0.3], [0.8, -1, -0.3], [0.3, 0, -1]], field="elbow")
            for i, s in enumerate(order):
                t0 = 0.5 + i * per
                out = ease((t - t0) / (0.3 * per)) * ease((t0 + per - t) / (0.55 * per))
                delta = (np.array(reach) - np.array(guard)) * np.array([SIDE[s], 1, 1])
                tr.hand[:, s] += out[:, None] * delta
                tr.spine[:, 2] += -SIDE[s] * 0.25 * out
                tr.tilt[:, 2] += -SIDE[s] * 0.1 * out
            return tr
        if kind == "point":
            up, hold, down = 0.6 / k, rng.uniform(0.8, 1.6), 0.6 / k
            n = frames(up + hold + down + 0.4)
            tr = Tracks.stand(state, n)
            pose = {"forward": [0.0, 0.08, 0.5], "sideways": [0.5, 0.08, 0.08], "up": [0.05, 0.42, 0.28]}[p["direction"]]
            times = _arm_hold_times(up, hold, down)
            _pose_track(tr, times, [HANG[0], pose, pose, HANG[0]], hands)
            _pose_track(tr, times, [[0.3, 0, -1], [0.5, -1, 0], [0.5, -1, 0], [0.3, 0, -1]], hands, "elbow")
            if p["direction"] == "sideways":
                tr.neck[:, 2] = 0.5 * SIDE[hands[0]] * envelope(n, up, down, 0.15, times[3])
            return tr
        if kind == "reach_up":
            up, hold, down = 0.8 / k, rng.uniform(0.5, 1.2), 0.8 / k
            n = frames(up + hold + down + 0.4)
            tr = Tracks.stand(state, n)
            times = _arm_hold_times(up, hold, down)
            _pose_track(tr, times, [HANG[0], [0.03, 0.5, 0.1], [0.03, 0.5, 0.1], HANG[0]], hands)
            _pose_track(tr, times, [[0.3, 0, -1], [1, 0, 0], [1, 0, 0], [0.3, 0, -1]], hands, "elbow")
            tip = keyed(n, times, [0.0, 0.45, 0.45, 0.0])
            tr.foot_pitch[:] = tip[:, None]
            tr.height = tr.height + 0.05 * tip / 0.45
            tr.neck[:, 0] = -0.3 * tip / 0.45
            return tr
        # throw
        per = 1.3 / k
        n = frames(0.2 + p["reps"] * per + 0.4)
        tr = Tracks.stand(state, n)
        s = hands[0]
        times, poses, poles, twist, lean = [0.1], [HANG[0]], [[0.3, 0, -1]], [0.0], [0.0]
        for i in range(p["reps"]):
            t0 = 0.2 + i * per
            times += [t0 + 0.45 * per, t0 + 0.62 * per, t0 + 0.85 * per]
            poses += [[0.2, 0.2, -0.3], [0.02, 0.22, 0.42], [-0.2, -0.3, 0.3]]
            poles += [[1, -0.5, -0.5], [1, -1, 0], [0.5, -1, 0]]
            twist += [0.45, -0.2, -0.4]
            lean += [-0.12, 0.1, 0.25]
        times.append(times[-1] + 0.3 * per)
        poses.append(HANG[0])
        poles.append([0.3, 0, -1])
        twist.append(0.0)
        lean.append(0.0)
        _pose_track(tr, times, poses, (s,))
        _pose_track(tr, times, poles, (s,), "elbow")
        tr.spine[:, 2] = SIDE[s] * keyed(n, times, twist)
        tr.spine[:, 0] = keyed(n, times, lean)
        tr.tilt[:, 2] = 0.4 * tr.spine[:, 2]
        return tr
    return build


# --- leg actions -------------------------------------------------------------------------------------------
def _leg_sample(kind):
    def sample(rng, short):
        p: Params = {"speed": _speed(rng, short)}
        if kind in ("kick", "lunge", "step_up"):
            p["leg"] = _pick(rng, ["left", "right"])
        if kind in ("kick", "squat", "lunge"):
            p["reps"] = int(rng.integers(1, 2 if short else {"kick": 4, "squat": 5, "lunge": 3}[kind]))
        if kind == "kick":
            p["height"] = _pick(rng, ["low", "high"])
        if kind == "squat":
            p["depth"] = _pick(rng, ["half", "deep"])
        return p
    return sample


def _plant_track(tr: Tracks, s: int, times: list[float], rel_poses: list, pitches: list, weights: list) -> None:
    """Blend foot `s` between its planted position (weight 0) and pelvis-relative poses (weight 1) via keys."""
    n = len(tr)
    rel = keyed(n, times, rel_poses)
    w = keyed(n, times, weights)[:, None]
    free = tr.to_world(rel * np.array([SIDE[s], 1, 1]))
    tr.toe[:, s] = tr.toe[:, s] + (free - tr.toe[:, s]) * w
    tr.foot_pitch[:, s] = keyed(n, times, pitches)


def _swing(track: np.ndarray, t: np.ndarray, t0: float, dur: float, a: np.ndarray, b: np.ndarray,
           lift: float = 0.09) -> np.ndarray:
    """`track` with a step from toe position a to b during [t0, t0 + dur]: up first, across, then down."""
    u = np.clip((t - t0) / dur, 0.0, 1.0)
    pos = a + (b - a) * ease((u - 0.15) / 0.7)[:, None]
    pos[:, 1] += lift * ease(u / 0.25) * ease((1.0 - u) / 0.25)
    return np.where((t >= t0)[:, None], pos, track)


def _leg_build(kind):
    def build(state, p, rng):
        k = SPEEDS[p["speed"]]
        if kind == "kick":
            s = 0 if p["leg"] == "left" else 1
            per = 1.1 / k
            n = frames(0.5 + p["reps"] * per + 0.5)
            tr = Tracks.stand(state, n)
            t = timeline(n)
            shift = envelope(n, 0.4, 0.4, 0.05, t[-1] - 0.05)
            tr.root_xz = tr.root_xz + heading_frame(tr.heading, np.stack(
                [-SIDE[s] * 0.07 * shift, 0 * shift, 0 * shift], -1))[:, [0, 2]]
            ext = {"low": [0.08, 0.4, 0.7], "high": [0.08, 0.7, 0.8]}[p["height"]]  # toe at full extension
            times, rel, pitch, w = [0.3, 0.45], [[0.11, 0.0, 0.07], [0.11, 0.1, 0.06]], [0.0, 0.2], [0.0, 1.0]
            for i in range(p["reps"]):
                t0 = 0.45 + i * per
                times += [t0 + 0.35 * per, t0 + 0.52 * per, t0 + 0.62 * per, t0 + 0.85 * per]
                rel += [[0.1, 0.35, 0.3], ext, ext, [0.1, 0.3, 0.25]]
                pitch += [0.4, 0.8, 0.8, 0.3]
                w += [1.0, 1.0, 1.0, 1.0]
            times += [times[-1] + 0.25 * per, times[-1] + 0.4 * per]
            rel += [[0.11, 0.08, 0.07], [0.11, 0.0, 0.07]]
            pitch += [0.0, 0.0]
            w += [1.0, 1.0]
            _plant_track(tr, s, times, rel, pitch, w)
            tr.toe[-1, s] = tr.toe[-2, s]
            kick = keyed(n, times, [0.0, 0.0] + [0.3, 1.0, 1.0, 0.2] * p["reps"] + [0.0, 0.0])
            tr.spine[:, 0] = -0.25 * kick
            tr.tilt[:, 1] = SIDE[s] * 0.05 * shift
            tr.hand[:, :, 0] += (0.12 * kick)[:, None] * SIDE
            tr.hand[:, :, 1] += (0.15 * kick)[:, None]
            return tr
        if kind == "squat":
            per = 1.8 / k
            depth = {"half": 0.25, "deep": 0.42}[p["depth"]]
            n = frames(0.3 + p["reps"] * per + 0.3)
            tr = Tracks.stand(state, n)
            t = timeline(n)
            down = np.zeros(n)
            for i in range(p["reps"]):
                down = np.maximum(down, np.sin(np.pi * np.clip((t - 0.3 - i * per) / per, 0, 1)) ** 2)
            tr.height = tr.height - depth * down
            tr.root_xz = tr.root_xz + heading_frame(tr.heading, np.stack([0 * down, 0 * down, -0.18 * down * depth / 0.42], -1))[:, [0, 2]]
            tr.spine[:, 0] = 0.5 * down * depth / 0.42
            tr.tilt[:, 0] = 0.35 * down * depth / 0.42
            arms = np.array([[0.0, -0.05, 0.45], [0.0, -0.05, 0.45]])
            tr.hand = HANG + (arms - HANG) * down[:, None, None] ** 0.5
            tr.elbow = tr.elbow + (np.array([[0.3, -1, 0], [-0.3, -1, 0]]) - tr.elbow) * down[:, None, None] ** 0.5
            return tr
        if kind == "lunge":
            s = 0 if p["leg"] == "left" else 1
            per = 2.2 / k
            n = frames(0.2 + p["reps"] * per + 0.3)
            tr = Tracks.stand(state, n)
            t = timeline(n)
            fwd_world = heading_frame(np.array(state.heading), np.array([0.0, 0.0, 1.0]))
            low = np.zeros(n)
            out = np.zeros(n)
            for i in range(p["reps"]):
                t0 = 0.2 + i * per
                out = np.maximum(out, ease((t - t0) / (0.3 * per)) * ease((t0 + per - t) / (0.3 * per)))
                low = np.maximum(low, ease((t - t0 - 0.25 * per) / (0.25 * per)) * ease((t0 + 0.75 * per - t) / (0.25 * per)))
                front = state.toe[s] + fwd_world * 0.6
                tr.toe[:, s] = _swing(tr.toe[:, s], t, t0, 0.3 * per, state.toe[s], front)
                tr.toe[:, s] = _swing(tr.toe[:, s], t, t0 + 0.7 * per, 0.3 * per, front, state.toe[s])
            tr.height = tr.height - 0.33 * low
            tr.root_xz = tr.root_xz + fwd_world[[0, 2]] * (0.27 * out + 0.03 * low)[:, None]
            tr.foot_pitch[:, 1 - s] = 0.95 * out
            tr.spine[:, 0] = 0.1 * low
            return tr
        # step up onto a low box and back down (the box is implied; the feet stand on it at `rise`)
        s = 0 if p["leg"] == "left" else 1
        rise = float(rng.uniform(0.15, 0.3))
        up = 0.9 / k
        n = frames(0.2 + 4 * up + 0.6 + 0.4)
        tr = Tracks.stand(state, n)
        t = timeline(n)
        fw = heading_frame(np.array(state.heading), np.array([0.0, 0.0, 1.0]))
        target = {f: state.toe[f] + fw * 0.38 + np.array([0, rise, 0]) for f in (0, 1)}
        order = [(s, 0.2), (1 - s, 0.2 + up), (1 - s, 0.2 + 2 * up + 0.6), (s, 0.2 + 3 * up + 0.6)]
        for i, (f, t0) in enumerate(order):
            a, b = (state.toe[f], target[f]) if i < 2 else (target[f], state.toe[f])
            tr.toe[:, f] = _swing(tr.toe[:, f], t, t0, 0.75 * up, a, b)
        on = keyed(n, [0.2, 0.2 + 2 * up, 0.2 + 2 * up + 0.6, 0.2 + 4 * up + 0.6], [0.0, 1.0, 1.0, 0.0])
        tr.root_xz = tr.root_xz + fw[[0, 2]] * 0.38 * on[:, None]
        tr.height = tr.height + rise * on
        tr.spine[:, 0] = 0.15 * np.sin(np.pi * np.clip(on, 0, 1))
        return tr
    return build


# --- whole body --------------------------------------------------------------------------------------------
def _body_sample(kind):
    def sample(rng, short):
        p: Params = {"speed": _speed(rng, short)}
        if kind == "bow":
            p["depth"] = _pick(rng, ["slight", "deep"])
        if kind == "spin":
            p["direction"] = _pick(rng, ["left", "right"])
            p["turns"] = 1 if short else int(_pick(rng, [1, 1, 2]))
        if kind == "stretch":
            p["style"] = _pick(rng, ["overhead", "side"])
        if kind == "idle":
            p["seconds"] = float(np.round(rng.uniform(2.0, 3.0) if short else rng.uniform(2.5, 6.0), 1))
        if kind == "crouch":
            p["hold"] = float(np.round(rng.uniform(0.5, 1.0) if short else rng.uniform(0.6, 2.0), 1))
        if kind == "sit":
            p["hold"] = float(np.round(rng.uniform(0.6, 1.0) if short else rng.uniform(0.8, 2.5), 1))
        return p
    return sample


def _body_build(kind):
    def build(state, p, rng):
        k = SPEEDS[p["speed"]]
        if kind == "bow":
            d = {"slight": 0.45, "deep": 0.95}[p["depth"]]
            down, hold, up = 0.8 / k, rng.uniform(0.4, 1.0), 0.8 / k
            n = frames(0.2 + down + hold + up + 0.4)
            tr = Tracks.stand(state, n)
            b = keyed(n, _arm_hold_times(down, hold, up, 0.2), [0.0, 1.0, 1.0, 0.0])
            tr.spine[:, 0] = 0.7 * d * b
            tr.tilt[:, 0] = 0.45 * d * b
            tr.neck[:, 0] = 0.15 * b
            tr.root_xz = tr.root_xz + heading_frame(tr.heading, np.stack([0 * b, 0 * b, -0.1 * d * b], -1))[:, [0, 2]]
            tr.hand[:, :, 2] += (0.12 * d * b)[:, None]
            return tr
        if kind == "spin":
            ang = 2 * np.pi * p["turns"] * (1 if p["direction"] == "left" else -1)
            g = type(SHUFFLE)(**{**SHUFFLE.__dict__, "cadence": 2.6 * k})
            tr = step(state, abs(ang) / (np.deg2rad(300) * k) + 0.3, 0.0, 0.0, ang, g, rng)
            out = envelope(len(tr), 0.4, 0.4)
            tr.hand = tr.hand + (np.array([[0.25, 0.2, 0.0], [-0.25, 0.2, 0.0]]) * out[:, None, None])
            return tr
        if kind == "sit":
            down, hold, up = 1.6 / k, p["hold"], 1.7 / k
            n = frames(0.2 + down + hold + up + 0.3)
            tr = Tracks.stand(state, n)
            times = [0.2, 0.2 + 0.5 * down, 0.2 + down, 0.2 + down + hold, 0.2 + down + hold + 0.5 * up, 0.2 + down + hold + up]
            h = keyed(n, times, [STAND_HEIGHT, 0.5, 0.13, 0.13, 0.5, STAND_HEIGHT])
            back = keyed(n, times, [0.0, 0.12, 0.42, 0.42, 0.12, 0.0])
            lean = keyed(n, times, [0.0, 0.8, 0.3, 0.3, 0.8, 0.0])
            tr.height = h
            tr.root_xz = tr.root_xz + heading_frame(tr.heading, np.stack([0 * h, 0 * h, -back], -1))[:, [0, 2]]
            tr.spine[:, 0] = lean * 0.6
            tr.tilt[:, 0] = keyed(n, times, [0.0, 0.6, -0.35, -0.35, 0.6, 0.0])
            hand = keyed(n, times, [HANG, [[0.05, -0.4, 0.3], [-0.05, -0.4, 0.3]], [[0.02, -0.3, 0.4], [-0.02, -0.3, 0.4]],
                                    [[0.02, -0.3, 0.4], [-0.02, -0.3, 0.4]], [[0.05, -0.4, 0.3], [-0.05, -0.4, 0.3]], HANG])
            tr.hand = hand
            tr.elbow = keyed(n, times, [[[0.3, 0, -1], [-0.3, 0, -1]]] + [[[0.6, -1, 0], [-0.6, -1, 0]]] * 4 + [[[0.3, 0, -1], [-0.3, 0, -1]]])
            return tr
        if kind == "crouch":
            down, hold, up = 0.7 / k, p["hold"], 0.8 / k
            n = frames(0.2 + down + hold + up + 0.3)
            tr = Tracks.stand(state, n)
            c = keyed(n, _arm_hold_times(down, hold, up, 0.2), [0.0, 1.0, 1.0, 0.0])
            tr.height = tr.height - 0.42 * c
            tr.foot_pitch[:] = (0.5 * c)[:, None]
            tr.spine[:, 0] = 0.55 * c
            tr.tilt[:, 0] = 0.3 * c
            tr.root_xz = tr.root_xz + heading_frame(tr.heading, np.stack([0 * c, 0 * c, -0.06 * c], -1))[:, [0, 2]]
            tr.hand = HANG + (np.array([[0.0, -0.3, 0.32], [0.0, -0.3, 0.32]]) - HANG) * c[:, None, None]
            tr.elbow = tr.elbow + (np.array([[0.5, -1, 0], [-0.5, -1, 0]]) - tr.elbow) * c[:, None, None]
            return tr
        if kind == "stretch":
            if p["style"] == "overhead":
                up, hold, down = 0.9 / k, rng.uniform(0.8, 1.5), 0.9 / k
                n = frames(0.2 + up + hold + down + 0.3)
                tr = Tracks.stand(state, n)
                times = _arm_hold_times(up, hold, down, 0.2)
                _pose_track(tr, times, [HANG[0], [-0.08, 0.5, 0.0], [-0.08, 0.5, 0.0], HANG[0]])
                _pose_track(tr, times, [[0.3, 0, -1], [1, 0, 0], [1, 0, 0], [0.3, 0, -1]], field="elbow")
                e = keyed(n, times, [0.0, 1.0, 1.0, 0.0])
                tr.spine[:, 0] = -0.2 * e
                tr.neck[:, 0] = -0.3 * e
                tr.foot_pitch[:] = (0.3 * e)[:, None]
                tr.height = tr.height + 0.03 * e
                return tr
            per = 2.0 / k
            n = frames(0.2 + 0.8 + 2 * per + 0.8 + 0.3)
            tr = Tracks.stand(state, n)
            t = timeline(n)
            times = [0.2, 1.0, 1.0 + 2 * per, 1.8 + 2 * per]
            _pose_track(tr, times, [HANG[0], [-0.08, 0.5, 0.0], [-0.08, 0.5, 0.0], HANG[0]])
            _pose_track(tr, times, [[0.3, 0, -1], [1, 0, 0], [1, 0, 0], [0.3, 0, -1]], field="elbow")
            side = np.sin(2 * np.pi * np.clip(t - 1.0, 0, 2 * per) / (2 * per)) * envelope(n, 0.3, 0.3, 1.0, 1.0 + 2 * per)
            tr.spine[:, 1] = 0.45 * side
            tr.tilt[:, 1] = 0.1 * side
            return tr
        # idle: standing, weight shifting from foot to foot, looking around
        n = frames(p["seconds"])
        tr = Tracks.stand(state, n)
        t = timeline(n)
        f = rng.uniform(0.2, 0.4)
        shift = 0.035 * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) * envelope(n, 0.6, 0.6)
        tr.root_xz = tr.root_xz + heading_frame(tr.heading, np.stack([shift, 0 * t, 0 * t], -1))[:, [0, 2]]
        tr.tilt[:, 1] = -2.0 * shift
        tr.spine[:, 1] = 2.5 * shift
        tr.neck[:, 2] = 0.4 * np.sin(2 * np.pi * rng.uniform(0.1, 0.25) * t) * envelope(n, 0.8, 0.8)
        return tr
    return build


def _family(name, group, sample, build) -> Family:
    return Family(name, group, sample, build)


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in [
        *(_family(k, "locomotion", _loco_sample(k), _loco_build(k))
          for k in ("walk", "jog", "run", "sneak", "walk_backwards", "side_step", "turn", "circle")),
        *(_family(k, "jump", _jump_sample(k), _jump_build(k)) for k in ("jump", "jump_forward", "hop")),
        *(_family(k, "arm", _arm_sample(k), _arm_build(k))
          for k in ("wave", "raise_arms", "clap", "punch", "point", "reach_up", "throw")),
        *(_family(k, "leg", _leg_sample(k), _leg_build(k)) for k in ("kick", "squat", "lunge", "step_up")),
        *(_family(k, "body", _body_sample(k), _body_build(k)) for k in ("bow", "spin", "sit", "crouch", "stretch", "idle")),
    ]
}
