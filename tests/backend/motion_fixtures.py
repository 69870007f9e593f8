"""Synthetic clips built by forward kinematics on the standard skeletons, for tests across the project.

Every builder returns joints (T, J, 3) in metres, Y up; with `with_rotations=True` it returns
(joints, root_translation (T, 3), rotations (T, J, 4) w,x,y,z) so IK/BVH tests know the ground truth.
Clips are deterministic (seeded) and cheap (vectorised FK, well under a millisecond per frame).
"""

from __future__ import annotations

import numpy as np

from motion_mamba.kinematics import HINGE_BEND, forward_kinematics
from motion_mamba.rotations import qfrom_axis_angle, qmul
from motion_mamba.skeleton import SMPL22, Skeleton

X, Y, Z = np.eye(3)


def _yaw(theta: np.ndarray) -> np.ndarray:
    return qfrom_axis_angle(Y, theta)


def gait_rotations(T: int, fps: float = 20.0, cadence_hz: float = 0.9) -> np.ndarray:
    """(T, 22, 4) SMPL-22 local rotations of a walk cycle with arms lowered; the root rotation is identity."""
    t = np.arange(T) / fps
    phase = 2 * np.pi * cadence_hz * t
    q = np.zeros((T, 22, 4))
    q[..., 0] = 1.0

    def set_(name: str, axis: np.ndarray, angle: np.ndarray) -> None:
        q[:, SMPL22.index(name)] = qfrom_axis_angle(axis, angle)

    set_("left_hip", X, -0.45 * np.sin(phase))
    set_("right_hip", X, 0.45 * np.sin(phase))
    set_("left_knee", X, 0.6 * np.clip(np.sin(phase + 1.2), 0, None) + 0.05)
    set_("right_knee", X, 0.6 * np.clip(-np.sin(phase + 1.2), 0, None) + 0.05)
    set_("left_ankle", X, -0.15 * np.cos(phase))
    set_("right_ankle", X, 0.15 * np.cos(phase))
    set_("spine1", Y, 0.1 * np.sin(phase))
    set_("spine3", Y, -0.15 * np.sin(phase))
    set_("head", X, 0.1 + 0.03 * np.sin(2 * phase))
    # arms hang (rotate down from the T-pose) and swing opposite to the legs
    down_l = qfrom_axis_angle(Z, np.full(T, -1.2))
    down_r = qfrom_axis_angle(Z, np.full(T, 1.2))
    q[:, SMPL22.index("left_shoulder")] = qmul(qfrom_axis_angle(X, 0.4 * np.sin(phase)), down_l)
    q[:, SMPL22.index("right_shoulder")] = qmul(qfrom_axis_angle(X, -0.4 * np.sin(phase)), down_r)
    set_("left_elbow", Y, -0.3 - 0.2 * np.sin(phase))  # forearms bend forward
    set_("right_elbow", Y, 0.3 - 0.2 * np.sin(phase))
    return q


def _grounded(root_xz: np.ndarray, rotations: np.ndarray, skeleton: Skeleton, with_rotations: bool):
    """FK with the root height chosen so the lowest joint touches the floor (y = 0) on every frame."""
    T = len(rotations)
    root = np.zeros((T, 3))
    joints = forward_kinematics(root, rotations, skeleton=skeleton)
    root[:, 0], root[:, 2] = root_xz[:, 0], root_xz[:, 1]
    root[:, 1] = -joints[..., 1].min(axis=1)
    joints = joints + root[:, None]
    return (joints, root, rotations) if with_rotations else joints


def walk_clip(T: int = 80, facing_deg: float = 0.0, heading_deg: float | None = None, speed: float = 1.0,
              turn_deg: float = 0.0, fps: float = 20.0, with_rotations: bool = False):
    """A walk whose facing starts at `facing_deg` (0 = +Z, -90 = -X) and turns by `turn_deg` in total.

    The root moves at `speed` m/s along `heading_deg` (fixed, world) if given, else along the current facing
    (so turning walks go round a circle).
    """
    theta = np.deg2rad(facing_deg) + np.deg2rad(turn_deg) * np.linspace(0.0, 1.0, T)
    heading = theta if heading_deg is None else np.full(T, np.deg2rad(heading_deg))
    step = speed / fps * np.stack([np.sin(heading), np.cos(heading)], axis=-1)
    root_xz = np.cumsum(step, axis=0) - step[0]
    rotations = gait_rotations(T, fps)
    rotations[:, 0] = _yaw(theta)
    return _grounded(root_xz, rotations, SMPL22, with_rotations)


def turning_clip(T: int = 120, turns: float = 2.0, with_rotations: bool = False):
    """Walking round in circles, `turns` full turns (2 = 720 degrees) over the clip."""
    return walk_clip(T, turn_deg=360.0 * turns, speed=0.8, with_rotations=with_rotations)


def sideways_walk(T: int = 80, with_rotations: bool = False):
    """Side-stepping: the body faces -X the whole time while it travels along +Z."""
    return walk_clip(T, facing_deg=-90.0, heading_deg=0.0, speed=0.6, with_rotations=with_rotations)


def facing_clip(T: int = 80, facing_deg: float = -90.0, with_rotations: bool = False):
    """A straight walk facing `facing_deg` throughout (default -X)."""
    return walk_clip(T, facing_deg=facing_deg, with_rotations=with_rotations)


def random_pose_clip(T: int = 60, seed: int = 0, skeleton: Skeleton = SMPL22, max_angle: float = 1.0,
                     with_rotations: bool = False):
    """Smooth random poses in arbitrary directions: every joint turns about all three axes by up to `max_angle`
    rad, except that knees and elbows are hinges bending their natural way (up to 2 rad); the root tumbles and
    wanders (upside down included). Positions are exact FK of the standard skeleton."""
    rng = np.random.default_rng(seed)
    J = skeleton.num_joints
    t = np.linspace(0.0, 1.0, T)[:, None, None]
    freq = rng.uniform(0.2, 2.0, size=(1, J, 3))
    shift = rng.uniform(0, 2 * np.pi, size=(1, J, 3))
    axis_angle = max_angle * np.sin(2 * np.pi * freq * t + shift) * rng.uniform(0.3, 1.0, size=(1, J, 3))
    for name, bend in HINGE_BEND.get(skeleton.name, {}).items():
        j = skeleton.index(name)
        axis = np.cross(skeleton.offsets[skeleton.children[j][0]], bend)
        flex = 1.0 + np.sin(2 * np.pi * freq[0, j, 0] * t[:, 0, 0] + shift[0, j, 0])  # 0..2 rad
        axis_angle[:, j] = flex[:, None] * axis / np.linalg.norm(axis)
    angle = np.linalg.norm(axis_angle, axis=-1)
    rotations = qfrom_axis_angle(axis_angle, angle)
    yaw = rng.uniform(-np.pi, np.pi) + rng.uniform(-3, 3) * t[:, 0, 0]
    rotations[:, 0] = qmul(_yaw(yaw), rotations[:, 0])
    root = np.cumsum(rng.normal(0, 0.02, size=(T, 3)), axis=0) + np.array([rng.uniform(-2, 2), 1.0, rng.uniform(-2, 2)])
    joints = forward_kinematics(root, rotations, skeleton=skeleton)
    return (joints, root, rotations) if with_rotations else joints
