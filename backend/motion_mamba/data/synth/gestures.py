"""Arm families: wave, raise arms, clap, punch, point, reach up, throw."""

from __future__ import annotations

import numpy as np

from .body import HANG, SIDE, Tracks
from .curves import ease, envelope, frames, keyed, timeline
from .moves import HANDS, SPEEDS, Params, hand, hold_times, pick, pose_track, speed


# --- arm actions -------------------------------------------------------------------------------------------
def arm_sample(kind):
    def sample(rng, short):
        p: Params = {"hand": hand(rng, both=kind not in ("point", "throw", "punch")), "speed": speed(rng, short)}
        if kind in ("wave", "clap", "punch", "throw"):
            lo, hi = {"wave": (2, 6), "clap": (2, 7), "punch": (1, 5), "throw": (1, 3)}[kind]
            p["reps"] = int(rng.integers(lo, min(hi, lo + 2) if short else hi))
        if kind == "punch":
            p["hand"] = pick(rng, ["left", "right", "both"], p=[0.35, 0.35, 0.3])
        if kind == "raise_arms":
            p["hand"] = pick(rng, ["left", "right", "both"], p=[0.25, 0.25, 0.5])
            p["direction"] = pick(rng, ["up", "forward", "sideways"])
        if kind == "point":
            p["direction"] = pick(rng, ["forward", "sideways", "up"])
        if kind == "wave":
            p["amplitude"] = pick(rng, ["small", "big"])
        return p
    return sample


def arm_build(kind):
    def build(state, p, rng):
        k = SPEEDS[p["speed"]]
        hands = HANDS[p["hand"]]
        if kind == "wave":
            f = 1.8 * k
            up, hold, down = 0.55 / k, p["reps"] / f, 0.5 / k
            n = frames(up + hold + down + 0.5)
            tr = Tracks.stand(state, n)
            times = hold_times(up, hold, down)
            pose_track(tr, times, [HANG[0], [0.27, 0.24, 0.12], [0.27, 0.24, 0.12], HANG[0]], hands)
            pose_track(tr, times, [[0.3, 0, -1], [1.0, -0.7, 0.1], [1.0, -0.7, 0.1], [0.3, 0, -1]], hands, "elbow")
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
            times = hold_times(up, hold, down)
            pose_track(tr, times, [HANG[0], pose, pose, HANG[0]], hands)
            pose_track(tr, times, [[0.3, 0, -1], pole, pole, [0.3, 0, -1]], hands, "elbow")
            if p["direction"] == "up":
                tr.neck[:, 0] = -0.2 * envelope(n, up, down, 0.15, times[3])
            return tr
        if kind == "clap":
            f = 2.2 * k
            up, hold, down = 0.45 / k, p["reps"] / f, 0.45 / k
            n = frames(up + hold + down + 0.4)
            tr = Tracks.stand(state, n)
            times = hold_times(up, hold, down)
            ready = [-0.08, -0.12, 0.32]
            pose_track(tr, times, [HANG[0], ready, ready, HANG[0]])
            pose_track(tr, times, [[0.3, 0, -1], [0.8, -1, -0.2], [0.8, -1, -0.2], [0.3, 0, -1]], field="elbow")
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
            pose_track(tr, [0.1, 0.5, hold_end, hold_end + 0.5], [HANG[0], guard, guard, HANG[0]])
            pose_track(tr, [0.1, 0.5, hold_end, hold_end + 0.5], [[0.3, 0, -1], [0.8, -1, -0.3], [0.8, -1, -0.3], [0.3, 0, -1]], field="elbow")
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
            times = hold_times(up, hold, down)
            pose_track(tr, times, [HANG[0], pose, pose, HANG[0]], hands)
            pose_track(tr, times, [[0.3, 0, -1], [0.5, -1, 0], [0.5, -1, 0], [0.3, 0, -1]], hands, "elbow")
            if p["direction"] == "sideways":
                tr.neck[:, 2] = 0.5 * SIDE[hands[0]] * envelope(n, up, down, 0.15, times[3])
            return tr
        if kind == "reach_up":
            up, hold, down = 0.8 / k, rng.uniform(0.5, 1.2), 0.8 / k
            n = frames(up + hold + down + 0.4)
            tr = Tracks.stand(state, n)
            times = hold_times(up, hold, down)
            pose_track(tr, times, [HANG[0], [0.03, 0.5, 0.1], [0.03, 0.5, 0.1], HANG[0]], hands)
            pose_track(tr, times, [[0.3, 0, -1], [1, 0, 0], [1, 0, 0], [0.3, 0, -1]], hands, "elbow")
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
        pose_track(tr, times, poses, (s,))
        pose_track(tr, times, poles, (s,), "elbow")
        tr.spine[:, 2] = SIDE[s] * keyed(n, times, twist)
        tr.spine[:, 0] = keyed(n, times, lean)
        tr.tilt[:, 2] = 0.4 * tr.spine[:, 2]
        return tr
    return build
