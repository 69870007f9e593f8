"""Generated joints -> what an animator can use: a rigid skeleton on the floor whose planted feet stay put.

The model predicts joint positions (HumanML3D features), which no rig can follow exactly: bone lengths drift by
centimetres, a planted foot slides (the demo model's raw feet slide ~30 cm/s while low: its body glides faster
than its steps carry it), and small errors that are independent from frame to frame read as jitter.
`clean_joints` fixes them, in this order:

0. smooth: a Gaussian over time, σ = `SMOOTH_SECONDS` (0.8 frame at 20 fps): it keeps 97 % of a 1 Hz motion (a
   walk's step rhythm), 88 % at 2 Hz, 45 % at 5 Hz and removes frame-to-frame wobble (10 Hz: 4 %). On a demo
   model's raw output the mean jerk fell from 340–800 to 80–200 m/s³ (corpus clips: 1–70; a jump landing loses
   up to half of its jerk). A wider filter blurs the feet enough to make the contact test below misfire (σ = 1
   frame moved a clean corpus walk by 4.5 cm on average, 0.8 by ≤ 1.3 cm);
1. rigid: every bone set to its standard length and aimed from its already placed parent at the model's child
   joint (`follow_bones`, root first), then IK onto the standard rest offsets and FK (constant bone lengths, as any
   rig has). Aiming from the placed parent keeps hands, feet and head near where the model put them; keeping each
   bone's own direction instead let the model's bone-length errors (~25 cm in sum) carry everything below them
   away, which cost R@3 0.035 on the val split and 0.05 on the held-out compositions (run h, docs/model.md);
2. floor: the lowest joint of the clip at height 0, HumanML3D's convention (the training data has it, and
   `features.joints_to_features` applies it, so what is evaluated is what the user gets);
3. reach: where a foot will be held (step 4) further from its hip than the leg reaches (`REACH` of thigh +
   shin), the whole body moves horizontally towards it (`pull_into_reach`). A gliding body thus travels as far
   as its legs carry it instead of dragging a planted foot along: without this step the lock below straightened
   the leg short of its target and lifted 29 % of the demo model's low toe frames above the contact height (up
   to 50 cm), which hid their sliding from the skating metric; with it 3.5 %, by ≤ 1 cm. Walks travel less
   (see the model card's limits); FID fell from 8.9 to 6.0 and skating from 1.9 to 0.1 cm/s (256 test clips);
4. foot lock: a foot whose toe-base joint stays below `contact_height` for two or more frames is planted (the
   contact definition of the foot-skating metric; on the training corpus such a toe moves < 0.3 cm/s). Over each
   contact run the toe's horizontal position is held at its mean over the run, the ankle moves by the same offset
   (the foot keeps its shape), the correction fades in and out over `blend` frames around the run, and the knee
   is re-solved by two-bone IK (hip fixed, thigh and shin lengths kept, bending in the plane it had).
   Two refinements (`planted_runs`) keep a held foot from jumping: contacts `MERGE_GAP` frames or less apart are
   one (a toe that bobs over the height for a frame has not stepped), and a contact along which the toe slides
   further than `STEP_LENGTH` becomes steps: held stretches, and between them a `SWING_FRAMES` swing that lifts the
   foot over the contact height and carries it to the next hold, the two feet in turn. Run i's decoder sometimes
   glides the whole body on still legs with the toes at 4 cm (1.2 m/s for 3 s); held at its mean, such a contact
   made the pull drag the body back 1.9 m and the foot jump 0.8 m in one frame when it ended. As steps, the body
   travels as the model moved it and the fastest joint is a swinging foot (0.17 m per frame there);
5. IK once more for the rotations (exact now: the result is rigid).

Steps 2–5 run `LOCK_PASSES` (2) times: a held foot can end up as the clip's lowest joint no longer, so the floor
moves and toes that were just above the contact height sink below it unheld; the second pass re-floors and holds
them (128 generated test clips: skating once the output is re-floored 0.085 cm/s, worst clip 4 cm/s → 0).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
from scipy.ndimage import gaussian_filter1d

from .kinematics import forward_kinematics, joints_to_rotations
from .metrics_physical import CONTACT_HEIGHT
from .skeleton import SMPL22, Skeleton

OUTPUT_VERSION = 5  # part of the service's result-cache key: bump when the clean-up changes what a request returns
SMOOTH_SECONDS = 0.04
BLEND_FRAMES = 6  # 0.3 s at 20 fps: fades a foot-lock correction in and out without a visible pop
REACH = 0.98  # a held foot's ankle stays within this fraction of thigh + shin from its hip
PULL_ITERATIONS = 3
PULL_SECONDS = 0.1  # σ of the Gaussian over the body's pull: 2 frames at 20 fps
LOCK_PASSES = 2
STEP_LENGTH = 0.8  # m: a planted toe that slides further takes a step (a stride of a brisk walk; see planted_runs)
SWING_FRAMES = 6  # 0.3 s: a synthesised step's swing (a walk's ~40 % of a 0.8 s step cycle)
LIFT = 0.08  # m: a synthesised swing's height, enough to take a gliding toe (~4 cm) over the contact height
MERGE_GAP = 2  # frames: contacts closer than this are one


def rigid(joints: np.ndarray, skeleton: Skeleton = SMPL22) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(joints of the rigid fit (T, J, 3), root translation (T, 3), local rotations (T, J, 4) w,x,y,z)."""
    root, rotations = joints_to_rotations(joints, skeleton)
    return forward_kinematics(root, rotations, skeleton=skeleton), root, rotations


def follow_bones(joints: np.ndarray, skeleton: Skeleton = SMPL22) -> np.ndarray:
    """Joints (T, J, 3) -> the same with every bone at the skeleton's length, each aimed from its parent's new
    position at the given child position (parents come before children in the skeleton's order)."""
    out = np.array(joints, dtype=np.float64)
    lengths = skeleton.bone_lengths

    def unit(v: np.ndarray) -> np.ndarray:
        return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)

    for child in range(1, skeleton.num_joints):
        parent = out[:, skeleton.parents[child]]
        aim = joints[:, child] - parent
        # where the model's child lies much nearer the placed parent than the bone is long, the aim's direction
        # swings with every centimetre (run i: a forearm flipped 0.5 m in a frame); the model's own bone adds its
        # direction there, in proportion to how short the aim is (and to its own length: a short one is no better)
        short = np.maximum(1.0 - np.linalg.norm(aim, axis=-1, keepdims=True) / lengths[child], 0.0)
        own = joints[:, child] - joints[:, skeleton.parents[child]]
        out[:, child] = parent + lengths[child] * unit(aim + short * own)
    return out


def contact_runs(toe_height: np.ndarray, contact_height: float = CONTACT_HEIGHT) -> list[tuple[int, int]]:
    """[start, end) frame ranges of two or more consecutive frames with the toe below `contact_height`."""
    low = np.concatenate([[False], np.asarray(toe_height) < contact_height, [False]])
    edges = np.flatnonzero(low[1:] != low[:-1])
    return [(int(s), int(e)) for s, e in zip(edges[::2], edges[1::2]) if e - s >= 2]


def planted_runs(toe: np.ndarray, contact_height: float = CONTACT_HEIGHT, phase: float = 0.0,
                 step: float = STEP_LENGTH, swing: int = SWING_FRAMES) -> tuple[list[tuple[int, int]], np.ndarray]:
    """([start, end) runs where a toe (T, 3) is held, (T,) how far to lift it between them).

    Contact runs (`contact_runs`) closer than `MERGE_GAP` frames are one contact: a toe that bobs over the contact
    height for a frame has not stepped. A contact along which the toe slides further than a planted foot can stay
    put (more than `step` metres) is cut into steps: a cut wherever the toe has slid another `step` (the first after
    `phase` · `step` when phase > 0, so two feet gliding side by side step in turn), and around each cut a `swing`
    of that many frames in which the foot rises by up to `LIFT` and moves on to the next hold."""
    lift = np.zeros(len(toe))
    merged: list[list[int]] = []
    for s, e in contact_runs(toe[:, 1], contact_height):
        if merged and s - merged[-1][1] <= MERGE_GAP:
            merged[-1][1] = e
        else:
            merged.append([s, e])
    held = []
    for s, e in merged:
        slid = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(toe[s:e, [0, 2]], axis=0), axis=-1))])
        marks = np.arange(phase * step if phase > 0 else step, slid[-1], step)
        hold = np.ones(e - s, dtype=bool)
        for c in np.searchsorted(slid, marks):
            hold[max(0, c - swing // 2):c + swing - swing // 2] = False
        edges = np.flatnonzero(np.diff(np.concatenate([[False], hold, [False]]).astype(int)))
        runs = [(s + int(a), s + int(b)) for a, b in zip(edges[::2], edges[1::2]) if b - a >= 2]
        held += runs
        swinging = np.ones(e - s, dtype=bool)  # what is not held swings: up and down once per stretch
        for a, b in runs:
            swinging[a - s:b - s] = False
        free = np.flatnonzero(swinging)
        for g in np.split(free, np.flatnonzero(np.diff(free) > 1) + 1):
            if len(g):
                lift[s + g] = LIFT * np.sin(np.pi * (g - g[0] + 1) / (len(g) + 1))
    return held, lift


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def lock_offsets(toe_xz: np.ndarray, runs: list[tuple[int, int]], blend: int = BLEND_FRAMES) -> np.ndarray:
    """(T, 2) horizontal offsets that hold the toe still over each run, faded in and out around it.

    Inside a run the offset moves the toe to its mean position over the run. Between two runs closer than
    2·blend frames the offset goes smoothly from one run's last correction to the next run's first."""
    T = len(toe_xz)
    out = np.zeros((T, 2))
    if not runs:
        return out
    edges = []  # per run: (start, end, offset at start, offset at end)
    for s, e in runs:
        out[s:e] = toe_xz[s:e].mean(axis=0) - toe_xz[s:e]
        edges.append((s, e, out[s], out[e - 1]))
    s0, _, first, _ = edges[0]
    lead = np.arange(max(0, s0 - blend), s0)
    out[lead] = first * _smoothstep((lead - (s0 - blend - 1)) / (blend + 1))[:, None]
    for (_, e, _, last), (s, _, first, _) in zip(edges, edges[1:]):
        gap = np.arange(e, s)
        if s - e <= 2 * blend:
            w = _smoothstep((gap - (e - 1)) / (s - e + 1))[:, None]
            out[gap] = (1.0 - w) * last + w * first
        else:
            tail, head = np.arange(e, e + blend), np.arange(s - blend, s)
            out[tail] = last * (1.0 - _smoothstep((tail - (e - 1)) / (blend + 1)))[:, None]
            out[head] = first * _smoothstep((head - (s - blend - 1)) / (blend + 1))[:, None]
    _, e_last, _, last = edges[-1]
    trail = np.arange(e_last, min(T, e_last + blend))
    out[trail] = last * (1.0 - _smoothstep((trail - (e_last - 1)) / (blend + 1)))[:, None]
    return out


def two_bone_ik(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray, thigh: float,
                shin: float) -> tuple[np.ndarray, np.ndarray]:
    """(knee, ankle) per frame with the hip fixed, bone lengths `thigh`, `shin`, the ankle as close to its target
    as the leg reaches, and the knee bending in the plane of hip, target and the given knee. (T, 3) arrays."""
    reach = ankle - hip
    d = np.linalg.norm(reach, axis=-1, keepdims=True)
    u = reach / np.maximum(d, 1e-9)
    d = np.clip(d, abs(thigh - shin) + 1e-6, (thigh + shin) * (1.0 - 1e-6))
    ankle = hip + u * d
    pole = knee - hip
    pole = pole - np.sum(pole * u, axis=-1, keepdims=True) * u
    norm = np.linalg.norm(pole, axis=-1, keepdims=True)
    fallback = np.cross(u, np.array([1.0, 0.0, 0.0]))  # a straight leg bends forward (+Z) when it has to bend
    sideways = np.linalg.norm(fallback, axis=-1, keepdims=True) < 1e-6  # ... unless it points along X
    fallback = np.where(sideways, np.cross(u, np.array([0.0, 0.0, 1.0])), fallback)
    fallback /= np.linalg.norm(fallback, axis=-1, keepdims=True)
    pole = np.where(norm > 1e-6, pole / np.maximum(norm, 1e-12), fallback)
    along = (thigh**2 - shin**2 + d**2) / (2.0 * d)
    across = np.sqrt(np.maximum(thigh**2 - along**2, 0.0))
    return hip + u * along + pole * across, ankle


def held_feet(joints: np.ndarray, skeleton: Skeleton, contact_height: float,
              blend: int) -> Iterator[tuple[int, int, int, int, np.ndarray]]:
    """(hip, knee, ankle, toe, (T, 3) moves that hold its toe and lift its swings) for each foot with a contact."""
    for phase, (ankle, toe) in zip((0.0, 0.5), (skeleton.feet_left, skeleton.feet_right)):
        knee = skeleton.parents[ankle]
        runs, lift = planted_runs(joints[:, toe], contact_height, phase)
        if runs:
            move = np.zeros((len(joints), 3))
            move[:, [0, 2]] = lock_offsets(joints[:, toe, [0, 2]], runs, blend)
            move[:, 1] = lift
            yield skeleton.parents[knee], knee, ankle, toe, move


def reach_shortfall(joints: np.ndarray, skeleton: Skeleton = SMPL22, contact_height: float = CONTACT_HEIGHT,
                    blend: int = BLEND_FRAMES) -> np.ndarray:
    """(T, 2) horizontal move of the whole body that would bring every held foot (as `lock_feet` would hold it)
    within reach: REACH · (thigh + shin) from its hip, or as far as the unheld leg already stretches. Zero where
    the legs reach."""
    lengths = skeleton.bone_lengths
    move = np.zeros((len(joints), 2))
    for hip, knee, ankle, _, offset in held_feet(joints, skeleton, contact_height, blend):
        leg = joints[:, ankle] - joints[:, hip]  # hip -> held ankle
        reach = np.maximum(REACH * (lengths[knee] + lengths[ankle]), np.linalg.norm(leg, axis=-1))
        leg += offset
        allowed = np.sqrt(np.maximum(reach**2 - leg[:, 1] ** 2, 0.0))  # horizontal reach at this hip height
        dist = np.linalg.norm(leg[:, [0, 2]], axis=-1)
        move += leg[:, [0, 2]] * (np.maximum(dist - allowed, 0.0) / np.maximum(dist, 1e-9))[:, None]
    return move


def pull_into_reach(joints: np.ndarray, skeleton: Skeleton = SMPL22) -> np.ndarray:
    """Rigid joints (T, J, 3) on the floor -> the same body moved horizontally, frame by frame, towards its held
    feet until the legs reach them (see the module docstring). The first frame's root stays where it was.

    The shortfall is smoothed (σ = `PULL_SECONDS`) so the body never jerks, which leaves a little of it, and
    moving the body moves where a held foot is held (its mean over the run), so it is applied
    `PULL_ITERATIONS` times (one pass left 14 % of the demo model's low toe frames lifted by the lock, three 3.5 %)."""
    out = np.array(joints, dtype=np.float64)
    total = np.zeros((len(out), 2))
    for _ in range(PULL_ITERATIONS):
        move = gaussian_filter1d(reach_shortfall(out, skeleton), PULL_SECONDS * skeleton.fps, axis=0, mode="nearest")
        out[..., [0, 2]] += move[:, None]
        total += move
    out[..., [0, 2]] -= total[0]
    return out


def lock_feet(joints: np.ndarray, skeleton: Skeleton = SMPL22, contact_height: float = CONTACT_HEIGHT,
              blend: int = BLEND_FRAMES) -> np.ndarray:
    """Rigid joints (T, J, 3) on the floor -> the same with planted feet held still (see the module docstring)."""
    out = np.array(joints, dtype=np.float64)
    lengths = skeleton.bone_lengths
    for hip, knee, ankle, toe, offset in held_feet(out, skeleton, contact_height, blend):
        moved = np.flatnonzero(np.abs(offset).sum(axis=-1) > 0)
        target = out[moved, ankle] + offset[moved]
        new_knee, new_ankle = two_bone_ik(out[moved, hip], out[moved, knee], target, lengths[knee], lengths[ankle])
        shift = new_ankle - out[moved, ankle]
        out[moved, knee] = new_knee
        for j in (ankle, toe):  # the foot moves as one piece with its ankle
            out[moved, j] += shift
    return out


def clean_joints(joints: np.ndarray, skeleton: Skeleton = SMPL22) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw generated joints (T, J, 3) metres -> (joints, root translation (T, 3), rotations (T, J, 4)), smooth,
    rigid, on the floor, feet locked; the rotations reproduce the joints exactly by FK."""
    joints = np.asarray(joints, dtype=np.float64)
    smooth = gaussian_filter1d(joints, SMOOTH_SECONDS * skeleton.fps, axis=0, mode="nearest")
    smooth[..., [0, 2]] += (joints[0, 0] - smooth[0, 0])[[0, 2]]  # the root starts where it started (the origin)
    out = rigid(follow_bones(smooth, skeleton), skeleton)
    for _ in range(LOCK_PASSES):
        fitted = out[0]
        fitted[..., 1] -= fitted[..., 1].min()
        out = rigid(lock_feet(pull_into_reach(fitted, skeleton), skeleton), skeleton)
    return out


def finish(joints: np.ndarray, skeleton: Skeleton, cleanup: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the pipeline and timelines hand out: (joints, root translation, rotations) as float32, cleaned up
    (`clean_joints`) or, with cleanup=False, the joints as they are with rotations fitted to them."""
    if cleanup:
        joints, root, rotations = clean_joints(joints, skeleton)
    else:
        root, rotations = joints_to_rotations(joints, skeleton)
    return tuple(np.asarray(a, dtype=np.float32) for a in (joints, root, rotations))  # type: ignore[return-value]
