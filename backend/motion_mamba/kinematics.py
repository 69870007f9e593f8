"""Forward and inverse kinematics on a `Skeleton`: one local rotation per joint, as in SMPL and BVH.

A joint's rotation moves all its children: global G_j = G_parent(j) ⊗ R_j and
p_c = p_j + G_j · offset_c for every child c of j. The root's position is the root translation.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .rotations import (
    matrix_to_quat, qbetween, qcontinuous, qfrom_axis_angle, qinv, qmul, qnormalize, qrot, qslerp, quat_to_matrix,
)
from .skeleton import SMPL22, Skeleton


def forward_kinematics(
    root_translation: np.ndarray,
    rotations: np.ndarray,
    offsets: np.ndarray | None = None,
    skeleton: Skeleton = SMPL22,
) -> np.ndarray:
    """Joint positions from local rotations.

    root_translation: (T, 3); rotations: (T, J, 4) local unit quaternions w,x,y,z;
    offsets: (J, 3) rest bone vectors (default: the skeleton's standard offsets) or (T, J, 3).
    Returns joints (T, J, 3).
    """
    rotations = np.asarray(rotations, dtype=np.float64)
    root_translation = np.asarray(root_translation, dtype=np.float64)
    J = skeleton.num_joints
    if rotations.ndim != 3 or rotations.shape[1:] != (J, 4):
        raise ValueError(f"rotations must be (T, {J}, 4), got {rotations.shape}")
    if root_translation.shape != (rotations.shape[0], 3):
        raise ValueError(f"root_translation must be ({rotations.shape[0]}, 3), got {root_translation.shape}")
    offsets = skeleton.offsets if offsets is None else np.asarray(offsets, dtype=np.float64)
    offsets = np.broadcast_to(offsets, rotations.shape[:1] + (J, 3))
    glob = np.empty_like(rotations)
    joints = np.empty(rotations.shape[:2] + (3,))
    glob[:, 0] = rotations[:, 0]
    joints[:, 0] = root_translation
    for j in range(1, J):
        p = skeleton.parents[j]
        glob[:, j] = qmul(glob[:, p], rotations[:, j])
        joints[:, j] = joints[:, p] + qrot(glob[:, p], offsets[:, j])
    return joints


# ----------------------------------------------------------------------------------------------------------------
# inverse kinematics

# Hinge joints bend one way only, so the plane they bend in fixes the twist of the ball joint above them
# (hip, shoulder). Directions are where the child bone moves when the hinge flexes, in the rest frame (+Z forward).
HINGE_BEND: dict[str, dict[str, tuple[int, int, int]]] = {
    "smpl22": {"left_knee": (0, 0, -1), "right_knee": (0, 0, -1), "left_elbow": (0, 0, 1), "right_elbow": (0, 0, 1)},
    "kit21": {"LK": (0, 0, -1), "RK": (0, 0, -1), "LE": (0, 0, 1), "RE": (0, 0, 1)},
}
_BEND_FULL = (0.1, 0.3)  # sin(bend angle) from which the limb plane starts to / fully decides the twist


class IKResult(NamedTuple):
    root_translation: np.ndarray  # (T, 3)
    rotations: np.ndarray  # (T, J, 4) local w,x,y,z, continuous in time
    error: np.ndarray  # (T, J) distance in metres between FK of the result and the input joints

    @property
    def max_error(self) -> float:
        return float(self.error.max())


def joints_to_rotations(
    joints: np.ndarray, skeleton: Skeleton = SMPL22, offsets: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Inverse kinematics: joints (T, J, 3) -> (root_translation (T, 3), rotations (T, J, 4) local w,x,y,z).

    Exact (FK reproduces the joints) whenever the joints come from FK with these `offsets` (default: the
    skeleton's standard rest offsets), whatever the pose or facing; otherwise a best fit, see `fit_rotations`.
    """
    result = fit_rotations(joints, skeleton, offsets)
    return result.root_translation, result.rotations


def fit_rotations(joints: np.ndarray, skeleton: Skeleton = SMPL22, offsets: np.ndarray | None = None) -> IKResult:
    """IK with its fit error. Joints are visited root first; each gets the global rotation G_j that places its
    children, and its local rotation is G_parent^-1 G_j:

    1. several children (pelvis, spine3): G_j is the Kabsch/SVD rotation best mapping the rest child offsets
       onto the posed child bones (exact for a rigid skeleton);
    2. one child: G_j swings the rest bone onto the posed bone starting from the parent's frame (no twist), except
       above a hinge (hip over knee, shoulder over elbow), where the twist turns the hinge's rest bend direction
       into the plane the limb actually bends in; when the limb is nearly straight the plane is undefined and the
       twist fades back to the parent's (continuous, no 180 degree flips);
    3. no child (hands, toes, head): the parent's frame (identity local rotation).
    """
    joints = np.asarray(joints, dtype=np.float64)
    J = skeleton.num_joints
    if joints.ndim != 3 or joints.shape[1:] != (J, 3) or len(joints) < 1:
        raise ValueError(f"joints must be (T, {J}, 3) for skeleton {skeleton.name}, got {joints.shape}")
    if not np.all(np.isfinite(joints)):
        raise ValueError("joints contain NaN or infinite values")
    offsets = skeleton.offsets if offsets is None else np.asarray(offsets, dtype=np.float64)
    if offsets.shape != (J, 3) or np.any(np.linalg.norm(offsets[1:], axis=-1) < 1e-9):
        raise ValueError(f"offsets must be (J={J}, 3) with non-zero bones, got shape {offsets.shape}")
    parents, children = skeleton.parents, skeleton.children
    hinge_bend = {skeleton.index(n): np.asarray(d, float) for n, d in HINGE_BEND.get(skeleton.name, {}).items()}

    T = len(joints)
    glob = np.zeros((T, J, 4))
    for j in range(J):
        parent_rot = glob[:, parents[j]] if j else np.broadcast_to(np.array([1.0, 0.0, 0.0, 0.0]), (T, 4))
        kids = children[j]
        if len(kids) >= 2 or j == 0:
            glob[:, j] = _kabsch(offsets[list(kids)], joints[:, list(kids)] - joints[:, j:j + 1])
        elif len(kids) == 1:
            c = kids[0]
            bone = joints[:, c] - joints[:, j]
            swing = qmul(qbetween(qrot(parent_rot, np.broadcast_to(offsets[c], bone.shape)), bone), parent_rot)
            if c in hinge_bend and len(children[c]) == 1:
                g = children[c][0]
                glob[:, j] = _hinge_twist(swing, offsets[c], hinge_bend[c], bone, joints[:, g] - joints[:, c])
            else:
                glob[:, j] = swing
        else:
            glob[:, j] = parent_rot
    glob = qcontinuous(glob, axis=0)
    local = glob.copy()
    local[:, 1:] = qmul(qinv(glob[:, list(parents[1:])]), glob[:, 1:])
    local = qcontinuous(qnormalize(local), axis=0)
    root = joints[:, 0].copy()
    fk = forward_kinematics(root, local, offsets, skeleton)
    return IKResult(root, local, np.linalg.norm(fk - joints, axis=-1))


def offsets_from_joints(joints: np.ndarray, skeleton: Skeleton = SMPL22) -> np.ndarray:
    """(J, 3) rest offsets that fit this motion's own bones: median bone lengths along the standard rest
    directions, except that the children of a branching joint (hips and spine under the pelvis, neck and collars
    under spine3) keep the motion's own layout, which IK cannot bend. Any rigid skeleton's joints are then
    reproduced exactly by IK + FK with these offsets (BVH export uses them)."""
    joints = np.asarray(joints, dtype=np.float64)
    parents = list(skeleton.parents)
    lengths = np.median(np.linalg.norm(joints[:, 1:] - joints[:, parents[1:]], axis=-1), axis=0)
    offsets = skeleton.offsets.copy()
    offsets[1:] *= (lengths / skeleton.bone_lengths[1:])[:, None]
    for j, kids in enumerate(skeleton.children):
        if len(kids) >= 2:
            kids = list(kids)
            posed = joints[:, kids] - joints[:, j:j + 1]  # (T, C, 3)
            rot = quat_to_matrix(_kabsch(offsets[kids], posed))  # template -> frame t
            offsets[kids] = np.einsum("tji,tcj->ci", rot, posed) / len(joints)  # mean of frames turned back
    return offsets


def _kabsch(rest: np.ndarray, posed: np.ndarray) -> np.ndarray:
    """(T, 4) rotations R minimising sum_c |R rest_c - posed_tc|^2 (rest (C, 3), posed (T, C, 3)), det +1."""
    H = np.einsum("ci,tcj->tij", rest, posed)  # (T, 3, 3) cross-covariance
    U, _, Vt = np.linalg.svd(H)
    d = np.sign(np.linalg.det(np.einsum("tij,tjk->tik", U, Vt)))
    D = np.ones((len(H), 3))
    D[:, 2] = np.where(d == 0, 1.0, d)
    R = np.einsum("tji,tj,tkj->tik", Vt, D, U)  # V diag(D) U^T
    return matrix_to_quat(R)


def _perp(v: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Component of v perpendicular to unit `axis`."""
    return v - np.sum(v * axis, axis=-1, keepdims=True) * axis


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _hinge_twist(swing: np.ndarray, rest_bone: np.ndarray, rest_bend: np.ndarray, bone: np.ndarray,
                 next_bone: np.ndarray) -> np.ndarray:
    """Twist `swing` (which maps rest_bone onto bone) about the bone so that the hinge's rest bend direction
    lies in the plane the limb bends in. The plane, not its sense, is matched (a slightly over-straightened knee
    must not turn the thigh round), followed continuously in time, and scaled by how clearly the limb is bent.
    Arrays are (T, 3) over time."""
    b = _unit(bone)
    s_rest = _unit(_perp(rest_bend, _unit(rest_bone)))
    expected = qrot(swing, np.broadcast_to(s_rest, b.shape))  # where the swing alone puts the bend; ⊥ b
    bend = _perp(next_bone, b)
    sin_bend = np.linalg.norm(bend, axis=-1) / np.maximum(np.linalg.norm(next_bone, axis=-1), 1e-12)
    lo, hi = _BEND_FULL
    w = np.clip((sin_bend - lo) / (hi - lo), 0.0, 1.0)
    phi = np.arctan2(np.sum(np.cross(expected, bend) * b, axis=-1), np.sum(expected * bend, axis=-1))
    phi = _continuous_plane_angle(phi, w > 0)
    return qmul(qfrom_axis_angle(b, w * phi), swing)


def _continuous_plane_angle(phi: np.ndarray, defined: np.ndarray) -> np.ndarray:
    """Plane angles are defined modulo 180 degrees. Start each run of frames where the plane is defined at the
    value in [-90, 90), then follow it continuously (unwrap with period pi), so the twist never jumps by 180."""
    folded = np.mod(phi + np.pi / 2, np.pi) - np.pi / 2
    steps = np.zeros_like(folded)
    steps[1:] = np.round((folded[:-1] - folded[1:]) / np.pi)  # whole half-turns to add to stay continuous
    steps[1:][~(defined[1:] & defined[:-1])] = 0.0
    total = np.cumsum(steps)
    run_start = np.ones_like(defined)
    run_start[1:] = ~(defined[1:] & defined[:-1])
    base = np.maximum.accumulate(np.where(run_start, np.arange(len(total)), 0))  # index where each run began
    return folded + np.pi * (total - total[base])


def resample_joints(joints: np.ndarray, src_fps: float, fps: float, skeleton: Skeleton = SMPL22) -> np.ndarray:
    """Joints at a new frame rate without shrinking bones: IK on the motion's own offsets, slerp the local
    rotations and lerp the root at the new frame times, FK. Exact for a rigid skeleton's motion at the old frames."""
    if not (np.isfinite(fps) and fps > 0 and np.isfinite(src_fps) and src_fps > 0):
        raise ValueError(f"frame rates must be positive, got {src_fps} -> {fps}")
    joints = np.asarray(joints, dtype=np.float64)
    T = len(joints)
    times = np.arange(0.0, (T - 1) / src_fps + 1e-9, 1.0 / fps) * src_fps  # in source frames
    lo = np.minimum(np.floor(times).astype(int), T - 1)
    hi = np.minimum(lo + 1, T - 1)
    w = times - lo
    offsets = offsets_from_joints(joints, skeleton)
    ik = fit_rotations(joints, skeleton, offsets)
    root = ik.root_translation[lo] + (ik.root_translation[hi] - ik.root_translation[lo]) * w[:, None]
    rot = qslerp(ik.rotations[lo], ik.rotations[hi], np.broadcast_to(w[:, None], (len(w), skeleton.num_joints)))
    return forward_kinematics(root, rot, offsets, skeleton)
