"""Families that move the body through space: locomotion (walk ... circle) and jumps."""

from __future__ import annotations

import numpy as np

from .body import HANG, SIDE, STAND_HEIGHT, Tracks, heading_frame
from .curves import ease, envelope, frames, timeline
from .locomotion import JOG, RUN, SHUFFLE, SNEAK, WALK, step
from .moves import SPEEDS, Params, pick, speed

G = 9.81  # m/s^2, jump flight


# --- locomotion --------------------------------------------------------------------------------------------
def loco_sample(kind: str):
    def sample(rng, short):
        p: Params = {"speed": speed(rng, short)}
        if kind in ("walk", "jog", "run", "sneak", "walk_backwards"):
            p["distance"] = float(np.round(rng.uniform(1.5, 3.0) if short else rng.uniform(2.0, 7.0), 1))
            if kind in ("walk_backwards", "sneak"):
                p["distance"] = min(p["distance"], 3.0)
        if kind == "side_step":
            p["direction"] = pick(rng, ["left", "right"])
            p["steps"] = int(rng.integers(2, 3 if short else 6))
        if kind == "turn":
            p["direction"] = pick(rng, ["left", "right"])
            p["angle"] = int(pick(rng, [90, 180] if short else [90, 90, 180, 270]))
        if kind == "circle":
            p["direction"] = pick(rng, ["left", "right"])
            p["shape"] = "curve" if short else pick(rng, ["circle", "curve"])
        return p
    return sample


_LOCO = {"walk": (WALK, 1.25), "jog": (JOG, 2.1), "run": (RUN, 3.0), "sneak": (SNEAK, 0.5), "walk_backwards": (WALK, 0.75)}


def loco_build(kind: str):
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
            # ~0.2 m per stride: the trailing foot closes to ~12 cm from the lead foot (toes), never crossing it
            gait = type(SHUFFLE)(**{**SHUFFLE.__dict__, "cadence": 2.2})
            side = 0.2 * (0.7 + 0.3 * k) * (1 if p["direction"] == "left" else -1)
            return step(state, p["steps"] / gait.cadence * 2 + 0.3, 0.0, side, 0.0, gait, rng)
        if kind == "turn":
            ang = np.deg2rad(p["angle"]) * (1 if p["direction"] == "left" else -1)
            secs = abs(ang) / (np.deg2rad(90) * k) + 0.4
            gait = type(SHUFFLE)(**{**SHUFFLE.__dict__, "cadence": 2.0})
            return step(state, secs, 0.0, 0.0, ang, gait, rng)
        # circle / curve: turn while walking forward
        ang = (2 * np.pi if p["shape"] == "circle" else np.deg2rad(rng.uniform(70, 120))) * (1 if p["direction"] == "left" else -1)
        v = 1.0 * (0.75 + 0.25 * k)
        secs = (6.5 if p["shape"] == "circle" else 3.0) / (0.8 + 0.2 * k)
        return step(state, secs, v, 0.0, ang, WALK, rng)
    return build


# --- jumps -------------------------------------------------------------------------------------------------
def jump_sample(kind):
    def sample(rng, short):
        p: Params = {"reps": 1 if short else int(pick(rng, [1, 1, 2, 3])), "height": pick(rng, ["low", "high"])}
        if kind == "jump_forward":
            p["distance"] = float(np.round(rng.uniform(0.4, 1.0), 1))
        if kind == "hop":
            p["leg"] = pick(rng, ["left", "right"])
            p["reps"] = int(rng.integers(2, 3 if short else 6))
        return p
    return sample


def jump_build(kind):
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
