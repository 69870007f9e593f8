"""Leg and whole-body families: kick, squat, lunge, step up, bow, spin, sit, crouch, stretch, idle."""

from __future__ import annotations

import numpy as np

from .body import HANG, SIDE, STAND_HEIGHT, Tracks, heading_frame
from .curves import ease, envelope, frames, keyed, timeline
from .locomotion import SHUFFLE, step
from .moves import SPEEDS, Params, hold_times, pick, plant_track, pose_track, speed, swing


# --- leg actions -------------------------------------------------------------------------------------------
def leg_sample(kind):
    def sample(rng, short):
        p: Params = {"speed": speed(rng, short)}
        if kind in ("kick", "lunge", "step_up"):
            p["leg"] = pick(rng, ["left", "right"])
        if kind in ("kick", "squat", "lunge"):
            p["reps"] = int(rng.integers(1, 2 if short else {"kick": 4, "squat": 5, "lunge": 3}[kind]))
        if kind == "kick":
            p["height"] = pick(rng, ["low", "high"])
        if kind == "squat":
            p["depth"] = pick(rng, ["half", "deep"])
        return p
    return sample


def leg_build(kind):
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
            plant_track(tr, s, times, rel, pitch, w)
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
                tr.toe[:, s] = swing(tr.toe[:, s], t, t0, 0.3 * per, state.toe[s], front)
                tr.toe[:, s] = swing(tr.toe[:, s], t, t0 + 0.7 * per, 0.3 * per, front, state.toe[s])
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
            tr.toe[:, f] = swing(tr.toe[:, f], t, t0, 0.75 * up, a, b)
        on = keyed(n, [0.2, 0.2 + 2 * up, 0.2 + 2 * up + 0.6, 0.2 + 4 * up + 0.6], [0.0, 1.0, 1.0, 0.0])
        tr.root_xz = tr.root_xz + fw[[0, 2]] * 0.38 * on[:, None]
        tr.height = tr.height + rise * on
        tr.spine[:, 0] = 0.15 * np.sin(np.pi * np.clip(on, 0, 1))
        return tr
    return build


# --- whole body --------------------------------------------------------------------------------------------
def body_sample(kind):
    def sample(rng, short):
        p: Params = {"speed": speed(rng, short)}
        if kind == "bow":
            p["depth"] = pick(rng, ["slight", "deep"])
        if kind == "spin":
            p["direction"] = pick(rng, ["left", "right"])
            p["turns"] = 1 if short else int(pick(rng, [1, 1, 2]))
        if kind == "stretch":
            p["style"] = pick(rng, ["overhead", "side"])
        if kind == "idle":
            p["seconds"] = float(np.round(rng.uniform(2.0, 3.0) if short else rng.uniform(2.5, 6.0), 1))
        if kind == "crouch":
            p["hold"] = float(np.round(rng.uniform(0.5, 1.0) if short else rng.uniform(0.6, 2.0), 1))
        if kind == "sit":
            p["hold"] = float(np.round(rng.uniform(0.6, 1.0) if short else rng.uniform(0.8, 2.5), 1))
        return p
    return sample


def body_build(kind):
    def build(state, p, rng):
        k = SPEEDS[p["speed"]]
        if kind == "bow":
            d = {"slight": 0.45, "deep": 0.95}[p["depth"]]
            down, hold, up = 0.8 / k, rng.uniform(0.4, 1.0), 0.8 / k
            n = frames(0.2 + down + hold + up + 0.4)
            tr = Tracks.stand(state, n)
            b = keyed(n, hold_times(down, hold, up, 0.2), [0.0, 1.0, 1.0, 0.0])
            tr.spine[:, 0] = 0.7 * d * b
            tr.tilt[:, 0] = 0.45 * d * b
            tr.neck[:, 0] = 0.15 * b
            tr.root_xz = tr.root_xz + heading_frame(tr.heading, np.stack([0 * b, 0 * b, -0.1 * d * b], -1))[:, [0, 2]]
            tr.hand[:, :, 2] += (0.12 * d * b)[:, None]
            return tr
        if kind == "spin":
            ang = 2 * np.pi * p["turns"] * (1 if p["direction"] == "left" else -1)
            g = type(SHUFFLE)(**{**SHUFFLE.__dict__, "cadence": 3.0 * k})
            tr = step(state, abs(ang) / (np.deg2rad(260) * k) + 0.3, 0.0, 0.0, ang, g, rng)
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
            c = keyed(n, hold_times(down, hold, up, 0.2), [0.0, 1.0, 1.0, 0.0])
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
                times = hold_times(up, hold, down, 0.2)
                pose_track(tr, times, [HANG[0], [-0.08, 0.5, 0.0], [-0.08, 0.5, 0.0], HANG[0]])
                pose_track(tr, times, [[0.3, 0, -1], [1, 0, 0], [1, 0, 0], [0.3, 0, -1]], field="elbow")
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
            pose_track(tr, times, [HANG[0], [-0.08, 0.5, 0.0], [-0.08, 0.5, 0.0], HANG[0]])
            pose_track(tr, times, [[0.3, 0, -1], [1, 0, 0], [1, 0, 0], [0.3, 0, -1]], field="elbow")
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
