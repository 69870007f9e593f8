"""Pose tracks -> SMPL-22 joint rotations -> joints: where procedural motion becomes a skeleton.

An action describes *what the body should do*: pelvis path, heading, height and tilt; spine and neck bends; a
world-space target for each toe with the foot's yaw and heel lift; a target for each wrist relative to its
shoulder in the chest frame, with the direction the elbow should point. `solve` turns that into local joint
rotations with analytic two-bone IK for every limb, then runs forward kinematics with the standard SMPL-22
offsets. So bone lengths are constant by construction, and a toe whose target stands still does not skate.
The pelvis is lowered where a foot target would otherwise be out of reach (that is also what makes the pelvis
bob during a walk: lowest at double support, where the legs are spread).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from scipy.ndimage import gaussian_filter1d, maximum_filter1d

from ...kinematics import forward_kinematics
from ...rotations import matrix_to_quat, qfrom_axis_angle, qinv, qmul, qrot
from ...skeleton import SMPL22

LEFT, RIGHT = 0, 1
SIDE = np.array([1.0, -1.0])  # +X is the body's left
PELVIS, SPINE = 0, (3, 6, 9)
HIP, KNEE, ANKLE, TOE = (1, 2), (4, 5), (7, 8), (10, 11)
NECK, COLLAR, SHOULDER, ELBOW, WRIST = 12, (13, 14), (16, 17), (18, 19), (20, 21)
SPINE_SHARE = np.array([0.3, 0.35, 0.35])  # how a whole-torso bend spreads over spine1..3

_OFF = SMPL22.offsets
_REST = SMPL22.rest_joints()
PELVIS_REST_HEIGHT = float(_REST[0, 1] - _REST[TOE[0], 1])  # pelvis over the floor with straight legs, toes down
STAND_HEIGHT = PELVIS_REST_HEIGHT - 0.015  # relaxed stance: knees slightly unlocked
# Toe position relative to the pelvis (heading frame, y = floor) when standing with feet under the hips.
NEUTRAL_TOE = np.array([[0.11, 0.0, 0.07], [-0.11, 0.0, 0.07]])
# Wrist relative to the shoulder (chest frame) with the arms hanging, elbows slightly bent, and the elbow pole.
HANG = np.array([[0.05, -0.49, 0.04], [-0.05, -0.49, 0.04]])
ELBOW_BACK = np.array([[0.3, 0.0, -1.0], [-0.3, 0.0, -1.0]])
TOE_OUT = 0.08  # radians each foot turns outwards when planted


def yaw_quat(theta: np.ndarray) -> np.ndarray:
    return qfrom_axis_angle(np.array([0.0, 1.0, 0.0]), theta)


def euler_quat(yaw: np.ndarray, pitch: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """q = Ry(yaw) Rx(pitch) Rz(roll): pitch > 0 bends forward (+Z down), roll > 0 leans to the right."""
    qy = qfrom_axis_angle(np.array([0.0, 1.0, 0.0]), yaw)
    qx = qfrom_axis_angle(np.array([1.0, 0.0, 0.0]), pitch)
    qz = qfrom_axis_angle(np.array([0.0, 0.0, 1.0]), roll)
    return qmul(qy, qmul(qx, qz))


def heading_frame(heading: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate body-frame vectors v (..., 3) into the world by the heading yaw (...,)."""
    return qrot(yaw_quat(np.asarray(heading, dtype=np.float64)), v)


@dataclass
class State:
    """Where one action leaves the body: pelvis ground position and heading, planted toes and their yaw."""

    xz: np.ndarray  # (2,)
    heading: float
    toe: np.ndarray  # (2, 3) world
    foot_yaw: np.ndarray  # (2,)

    @classmethod
    def start(cls) -> "State":
        return cls.neutral(np.zeros(2), 0.0)

    @classmethod
    def neutral(cls, xz: np.ndarray, heading: float) -> "State":
        toe = heading_frame(np.full(2, heading), NEUTRAL_TOE) + np.array([xz[0], 0.0, xz[1]])
        return cls(np.asarray(xz, dtype=np.float64), float(heading), toe, heading + TOE_OUT * SIDE)


@dataclass
class Tracks:
    """Per-frame targets, all (n, ...) float64. Angles in radians; see the module docstring for frames."""

    root_xz: np.ndarray  # (n, 2) pelvis ground position, world
    heading: np.ndarray  # (n,) yaw of the body, 0 = facing +Z
    height: np.ndarray  # (n,) pelvis height over the floor
    tilt: np.ndarray  # (n, 3) pelvis pitch (forward), roll (to the right), extra yaw
    spine: np.ndarray  # (n, 3) whole-torso bend: forward, to the right, twist to the left
    neck: np.ndarray  # (n, 3) head nod forward, tilt right, turn left
    toe: np.ndarray  # (n, 2, 3) world toe targets, left/right
    foot_yaw: np.ndarray  # (n, 2)
    foot_pitch: np.ndarray  # (n, 2) heel lift (> 0 rotates the foot about its toe, heel up)
    hand: np.ndarray  # (n, 2, 3) wrist relative to shoulder, chest frame
    elbow: np.ndarray  # (n, 2, 3) elbow pole direction, chest frame

    def __len__(self) -> int:
        return len(self.heading)

    @classmethod
    def stand(cls, state: State, n: int) -> "Tracks":
        """Standing still where `state` left off, arms hanging: the base every action edits."""
        rep = lambda a: np.repeat(np.asarray(a, dtype=np.float64)[None], n, axis=0)  # noqa: E731
        return cls(
            root_xz=rep(state.xz), heading=rep(state.heading), height=rep(STAND_HEIGHT), tilt=np.zeros((n, 3)),
            spine=np.zeros((n, 3)), neck=np.zeros((n, 3)), toe=rep(state.toe), foot_yaw=rep(state.foot_yaw),
            foot_pitch=np.zeros((n, 2)), hand=rep(HANG), elbow=rep(ELBOW_BACK),
        )

    def end_state(self) -> State:
        return State(self.root_xz[-1].copy(), float(self.heading[-1]), self.toe[-1].copy(), self.foot_yaw[-1].copy())

    def to_world(self, rel: np.ndarray) -> np.ndarray:
        """Body-frame offsets (n, 3) (y = absolute height) -> world points under the moving pelvis."""
        w = heading_frame(self.heading, rel)
        return w + np.stack([self.root_xz[:, 0], np.zeros(len(self)), self.root_xz[:, 1]], axis=-1)

    @classmethod
    def concat(cls, parts: list["Tracks"]) -> "Tracks":
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)})


def _basis(u: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(n, 3, 3) orthonormal frame whose first column is along u and second in the (u, w) plane."""
    e1 = u / np.linalg.norm(u, axis=-1, keepdims=True)
    e2 = w - np.sum(w * e1, axis=-1, keepdims=True) * e1
    e2 = e2 / np.maximum(np.linalg.norm(e2, axis=-1, keepdims=True), 1e-9)
    return np.stack([e1, e2, np.cross(e1, e2)], axis=-1)


def _max_reach(o1: np.ndarray, o2: np.ndarray) -> float:
    return float(np.linalg.norm(o1) + np.linalg.norm(o2))


def two_bone_ik(start, parent_glob, o1, o2, axis, flex_sign, pole_local, target, pole):
    """Analytic IK for a hinge limb (hip-knee-ankle, shoulder-elbow-wrist).

    start (n,3) world position of the limb's first joint, parent_glob (n,4) global rotation of its parent,
    o1/o2 rest offsets of the middle and end joints, `axis` the hinge axis in the limb's own frame, flex_sign the
    direction of flexion about it, pole_local the direction the middle joint bulges to when flexed.
    1) hinge angle phi from the law of cosines, generalised to non-collinear rest bones:
       |o1 + R(phi) o2|^2 = |target - start|^2  <=>  A cos(phi) + B sin(phi) = C;
    2) swing the limb so its start->end vector meets the target and its bulge points along `pole`.
    Returns the local rotations (n,4) of the first and the middle joint.
    """
    a = np.asarray(axis, dtype=np.float64)
    d = target - start
    dist2 = np.sum(d * d, axis=-1)
    A = o1 @ o2 - (o1 @ a) * (a @ o2)
    B = o1 @ np.cross(a, o2)
    K = (o1 @ a) * (a @ o2)
    C = 0.5 * (dist2 - o1 @ o1 - o2 @ o2) - K
    phi = np.arctan2(B, A) + flex_sign * np.arccos(np.clip(C / np.hypot(A, B), -1.0, 1.0))
    q_mid = qfrom_axis_angle(np.broadcast_to(a, d.shape), phi)
    v_local = o1 + qrot(q_mid, np.broadcast_to(o2, d.shape))
    m = _basis(d, pole) @ np.swapaxes(_basis(v_local, np.broadcast_to(pole_local, d.shape)), -1, -2)
    q_start = qmul(qinv(parent_glob), matrix_to_quat(m))
    return q_start, q_mid


def _foot_quat(tr: Tracks) -> np.ndarray:
    return euler_quat(tr.foot_yaw, tr.foot_pitch, np.zeros_like(tr.foot_pitch))  # (n, 2, 4)


def _torso(tr: Tracks, height: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = len(tr)
    rot = np.zeros((n, 22, 4))
    rot[..., 0] = 1.0
    rot[:, PELVIS] = euler_quat(tr.heading + tr.tilt[:, 2], tr.tilt[:, 0], tr.tilt[:, 1])
    for j, w in zip(SPINE, SPINE_SHARE):
        rot[:, j] = euler_quat(w * tr.spine[:, 2], w * tr.spine[:, 0], w * tr.spine[:, 1])
    rot[:, NECK] = euler_quat(tr.neck[:, 2], tr.neck[:, 0], tr.neck[:, 1])
    root = np.stack([tr.root_xz[:, 0], height, tr.root_xz[:, 1]], axis=-1)
    return rot, root


def fit_height(tr: Tracks, margin: float = 0.985) -> np.ndarray:
    """Pelvis height lowered, smoothly, wherever a planted or swinging foot would be out of the leg's reach."""
    root_q = euler_quat(tr.heading + tr.tilt[:, 2], tr.tilt[:, 0], tr.tilt[:, 1])
    ankle = tr.toe - qrot(_foot_quat(tr), _OFF[list(TOE)])
    limit = np.full(len(tr), np.inf)
    for s in (LEFT, RIGHT):
        reach = margin * _max_reach(_OFF[KNEE[s]], _OFF[ANKLE[s]])
        hip_rel = qrot(root_q, np.broadcast_to(_OFF[HIP[s]], (len(tr), 3)))
        dx = tr.root_xz[:, 0] + hip_rel[:, 0] - ankle[:, s, 0]
        dz = tr.root_xz[:, 1] + hip_rel[:, 2] - ankle[:, s, 2]
        up = np.sqrt(np.maximum(reach**2 - dx * dx - dz * dz, 0.0))
        limit = np.minimum(limit, ankle[:, s, 1] + up - hip_rel[:, 1])
    deficit = np.maximum(tr.height - limit, 0.0)
    # widen then blur: the blurred deficit is still >= the raw one everywhere (kernel radius <= filter radius)
    deficit = gaussian_filter1d(maximum_filter1d(deficit, size=11, mode="nearest"), 1.5, mode="nearest")
    return tr.height - deficit


def solve(tr: Tracks) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tracks -> (local rotations (n,22,4), root translation (n,3), joints (n,22,3))."""
    height = fit_height(tr)
    rot, root = _torso(tr, height)
    # torso forward kinematics: global rotations and positions down to the hips and shoulders
    glob, joints = rot.copy(), np.zeros(rot.shape[:2] + (3,))
    joints[:, PELVIS] = root
    for j in (*HIP, *SPINE, *COLLAR, *SHOULDER):
        p = SMPL22.parents[j]
        glob[:, j] = qmul(glob[:, p], rot[:, j])
        joints[:, j] = joints[:, p] + qrot(glob[:, p], np.broadcast_to(_OFF[j], root.shape))
    n = len(tr)
    foot_q = _foot_quat(tr)
    for s in (LEFT, RIGHT):
        ankle = tr.toe[:, s] - qrot(foot_q[:, s], np.broadcast_to(_OFF[TOE[s]], (n, 3)))
        # knees point forward, tilting up as the foot comes out in front (sitting, kicking): never along the leg
        fwd = heading_frame(0.5 * (tr.foot_yaw[:, s] + tr.heading), np.array([0.0, 0.0, 1.0]))
        leg = ankle - joints[:, HIP[s]]
        ahead = np.clip(np.sum(leg * fwd, -1) / np.linalg.norm(leg, axis=-1), 0.0, 1.0)
        knee_pole = fwd + 0.8 * ahead[:, None] * np.array([0.0, 1.0, 0.0])
        q_hip, q_knee = two_bone_ik(joints[:, HIP[s]], glob[:, PELVIS], _OFF[KNEE[s]], _OFF[ANKLE[s]],
                                    (1.0, 0.0, 0.0), 1.0, (0.0, 0.0, 1.0), ankle, knee_pole)
        rot[:, HIP[s]], rot[:, KNEE[s]] = q_hip, q_knee
        g_knee = qmul(qmul(glob[:, PELVIS], q_hip), q_knee)
        rot[:, ANKLE[s]] = qmul(qinv(g_knee), foot_q[:, s])
    chest = glob[:, SPINE[2]]
    for s in (LEFT, RIGHT):
        shoulder = joints[:, SHOULDER[s]]
        q_sh, q_el = two_bone_ik(shoulder, glob[:, COLLAR[s]], _OFF[ELBOW[s]], _OFF[WRIST[s]], (0.0, 1.0, 0.0),
                                 -SIDE[s], (0.0, 0.0, -1.0), shoulder + qrot(chest, tr.hand[:, s]),
                                 qrot(chest, tr.elbow[:, s]))
        rot[:, SHOULDER[s]], rot[:, ELBOW[s]] = q_sh, q_el
    return rot, root, forward_kinematics(root, rot)
