"""HumanML3D's redundant motion features (263 dims on SMPL-22, 251 on KIT-21) and their decoding.

Encoding follows `process_file` of EricGuo5513/HumanML3D (`motion_representation.ipynb`); decoding is its
`recover_from_ric`, so features from the real dataset decode here unchanged. One row per frame pair (T frames
give T-1 rows), laid out as

    [0]        root angular velocity about Y (half the yaw step, as HumanML3D stores it)
    [1:3]      root linear velocity on XZ, in the root's facing frame
    [3]        root height
    ric        joints 1..J-1 relative to the root's XZ, rotated into the facing frame   (J-1)*3
    rot        continuous-6D local rotations of joints 1..J-1 (HumanML3D's swing IK)     (J-1)*6
    vel        per-joint velocities rotated into the facing frame                       J*3
    contacts   left (ankle, toe), right (ankle, toe): squared step < threshold          4

The facing frame is the hips+shoulders "forward" direction smoothed over time with HumanML3D's Gaussian
(sigma 20 frames). Two deliberate differences from the original, both fixing cases where it does not round-trip:
- `canonicalize` turns the clip so that this *smoothed* facing is +Z at frame 0 (HumanML3D uses the raw facing
  for the turn, so its decoded joints come back rotated by the smoothing's lag; its published `new_joints` are in
  exactly our canonical frame). The ric/velocity/root features are identical either way.
- the yaw step is wrapped to (-pi, pi], so clips that keep turning (720 degrees) do not pick up a sign error
  where the original's quaternions wrap.
No `uniform_skeleton` retargeting happens here: bone lengths are the caller's (see `kinematics`).
Like HumanML3D, everything is in the dataset's units, both ways: metres for SMPL-22, millimetres for KIT-21
(KIT-ML's `new_joints`; multiply metres by `Skeleton.unit_scale`), which is what the contact threshold assumes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np
from scipy.ndimage import gaussian_filter1d

from .rotations import qbetween, qinv, qmul, quat_to_cont6d
from .skeleton import SMPL22, Skeleton

if TYPE_CHECKING:
    import torch

FACING_SMOOTH_SIGMA = 20.0  # frames; HumanML3D `inverse_kinematics_np(smooth_forward=True)`


# ----------------------------------------------------------------------------------------------------------------
# layout


def feature_slices(skeleton: Skeleton = SMPL22) -> dict[str, slice]:
    """Named column groups of the feature vector, in order (the groups HumanML3D averages Std over)."""
    J = skeleton.num_joints
    sizes = {"rot_vel": 1, "lin_vel": 2, "root_y": 1, "ric": (J - 1) * 3, "rot": (J - 1) * 6, "vel": J * 3,
             "contacts": 4}
    out, start = {}, 0
    for name, n in sizes.items():
        out[name] = slice(start, start + n)
        start += n
    assert start == skeleton.feature_dim
    return out


def mean_std(features: np.ndarray | Sequence[np.ndarray], skeleton: Skeleton = SMPL22) -> tuple[np.ndarray, np.ndarray]:
    """Dataset Mean/Std as HumanML3D's `cal_mean_variance`: per-dimension mean, std averaged within each group.

    Group averaging keeps the relative scale of e.g. the 63 position dims, so normalised features weigh joints
    alike. A group that never varies (e.g. contacts on a corpus without any) gets std 1, so normalising it is a
    no-op instead of a division by zero. `features`: (N, D) rows or a list of (T_i, D) clips.
    """
    rows = np.concatenate(list(features), axis=0) if not isinstance(features, np.ndarray) else features
    rows = np.asarray(rows, dtype=np.float64).reshape(-1, skeleton.feature_dim)
    if len(rows) < 2:
        raise ValueError("mean_std needs at least two feature rows")
    mean, std = rows.mean(axis=0), rows.std(axis=0)
    for sl in feature_slices(skeleton).values():
        group = std[sl].mean()
        std[sl] = group if group > 1e-8 else 1.0
    return mean.astype(np.float32), std.astype(np.float32)


# ----------------------------------------------------------------------------------------------------------------
# encoding (numpy)


def _check_joints(joints: np.ndarray, skeleton: Skeleton, min_frames: int) -> np.ndarray:
    joints = np.asarray(joints, dtype=np.float64)
    J = skeleton.num_joints
    if joints.ndim != 3 or joints.shape[1:] != (J, 3):
        raise ValueError(f"joints must be (T, {J}, 3) for skeleton {skeleton.name}, got {joints.shape}")
    if joints.shape[0] < min_frames:
        raise ValueError(f"joints need at least {min_frames} frames, got {joints.shape[0]}")
    if not np.all(np.isfinite(joints)):
        bad = np.argwhere(~np.isfinite(joints).all(axis=-1))[0]
        raise ValueError(f"joints contain NaN or infinite values (first at frame {bad[0]}, joint {bad[1]})")
    parents = np.asarray(skeleton.parents[1:])
    bones = np.linalg.norm(joints[:, 1:] - joints[:, parents], axis=-1)
    if np.any(bones < 1e-6):
        t, j = np.argwhere(bones < 1e-6)[0]
        raise ValueError(f"zero-length bone {skeleton.names[parents[j]]}->{skeleton.names[j + 1]} at frame {t}")
    return joints


def facing_across(joints: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """(T, 3) HumanML3D's "across" vector per frame; the body faces Y × across, i.e. (a_z, 0, −a_x).

    Exactly HumanML3D's `inverse_kinematics_np(face_joint_indx, ...)`, which unpacks the face joints as
    (l_hip, r_hip, sdr_r, sdr_l): across = (left hip − right hip) + (right shoulder − left shoulder), the shoulder
    span minus the hip span. Every feature of the real dataset is expressed in this frame, so we keep it (it
    points the right way whenever the shoulders are wider than the hips).
    """
    r_hip, l_hip, r_sdr, l_sdr = skeleton.face_joints
    return joints[:, l_hip] - joints[:, r_hip] + joints[:, r_sdr] - joints[:, l_sdr]


def _facing_yaw(joints: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """(T,) yaw angle theta_t whose rotation about +Y turns the smoothed forward direction of frame t onto +Z
    (HumanML3D's `smooth_forward=True`: a Gaussian over the per-frame forward directions)."""
    across = facing_across(joints, skeleton)
    across = across / np.linalg.norm(across, axis=-1, keepdims=True)
    forward = np.cross(np.array([0.0, 1.0, 0.0]), across)  # horizontal by construction
    if len(forward) > 1:
        forward = gaussian_filter1d(forward, FACING_SMOOTH_SIGMA, axis=0, mode="nearest")
    if np.any(np.hypot(forward[:, 0], forward[:, 2]) < 1e-6):
        raise ValueError("cannot tell which way the body faces: hips and shoulders are vertical or coincide")
    return -np.arctan2(forward[:, 0], forward[:, 2])


def _yaw_rotate(theta: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors v (T, ..., 3) about +Y by theta (T,): x' = x cos + z sin, z' = -x sin + z cos."""
    c = np.cos(theta).reshape(theta.shape + (1,) * (v.ndim - 2))
    s = np.sin(theta).reshape(c.shape)
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    return np.stack([x * c + z * s, y, -x * s + z * c], axis=-1)


def _yaw_quat(theta: np.ndarray) -> np.ndarray:
    half = 0.5 * theta
    zero = np.zeros_like(half)
    return np.stack([np.cos(half), zero, np.sin(half), zero], axis=-1)


def canonicalize(joints: np.ndarray, skeleton: Skeleton = SMPL22) -> np.ndarray:
    """HumanML3D's pose normalisation: lowest joint on the floor (y = 0), root over the origin at frame 0, and
    the (smoothed) facing direction +Z at frame 0. joints: (T, J, 3) -> (T, J, 3) float64, same units."""
    return _canonicalize(_check_joints(joints, skeleton, min_frames=1), skeleton)[0]


def _canonicalize(joints: np.ndarray, skeleton: Skeleton) -> tuple[np.ndarray, np.ndarray]:
    """Canonical joints and their facing yaw per frame (0 at frame 0: turning the clip about Y by theta_0
    shifts every frame's yaw by -theta_0)."""
    joints = joints - joints[0, 0] * np.array([1.0, 0.0, 1.0])
    joints[..., 1] -= joints[..., 1].min()
    theta = _facing_yaw(joints, skeleton)
    return _yaw_rotate(np.full(len(joints), theta[0]), joints), theta - theta[0]


def _swing_rotations(joints: np.ndarray, root_quat: np.ndarray, skeleton: Skeleton) -> np.ndarray:
    """HumanML3D's `inverse_kinematics_np`: per joint, the shortest arc from its raw offset direction to its bone,
    made local to the previous joint on its kinematic chain (chain starts use the root's facing rotation).
    Returns (T, J-1, 4) for joints 1..J-1; only used for the 6D feature group."""
    J = skeleton.num_joints
    parents = np.asarray(skeleton.parents)
    bones = joints[:, 1:] - joints[:, parents[1:]]  # (T, J-1, 3)
    swing = qbetween(np.broadcast_to(skeleton.raw_offsets[1:], bones.shape), bones)  # global, (T, J-1, 4)
    chain_starts = {chain[1] for chain in skeleton.kinematic_chains}
    glob = np.concatenate([root_quat[:, None], swing], axis=1)  # index by joint
    ref = np.array([0 if j in chain_starts else parents[j] for j in range(1, J)])
    return qmul(qinv(glob[:, ref]), swing)


def joints_to_features(joints: np.ndarray, skeleton: Skeleton = SMPL22) -> np.ndarray:
    """joints (T, J, 3) in dataset units, any placement -> features (T-1, D) float32 in the canonical frame.

    Decoding with `features_to_joints` gives back `canonicalize(joints)[:-1]`.
    """
    joints = _check_joints(joints, skeleton, min_frames=2)
    pos, theta = _canonicalize(joints, skeleton)  # theta: (T,) facing yaw, 0 at frame 0
    root = pos[:, 0]

    # root: half yaw step (HumanML3D stores arcsin of the delta quaternion's y = sin(step / 2)), velocity, height
    step = np.angle(np.exp(1j * np.diff(theta)))  # wrapped to (-pi, pi]
    root_vel = _yaw_rotate(theta[1:], root[1:] - root[:-1])
    root_data = np.concatenate([0.5 * step[:, None], root_vel[:, [0, 2]], root[:-1, 1:2]], axis=-1)

    # rotation-invariant coordinates: relative to the root's XZ, in the facing frame
    local = pos - root[:, None] * np.array([1.0, 0.0, 1.0])
    ric = _yaw_rotate(theta, local[:, 1:])

    rot = quat_to_cont6d(_swing_rotations(pos, _yaw_quat(theta), skeleton))
    vel = _yaw_rotate(theta[:-1], pos[1:] - pos[:-1])

    feet = np.asarray(skeleton.feet_left + skeleton.feet_right)
    contacts = np.sum((pos[1:, feet] - pos[:-1, feet]) ** 2, axis=-1) < skeleton.foot_contact_threshold

    T = len(pos)
    return np.concatenate(
        [
            root_data,
            ric[:-1].reshape(T - 1, -1),
            rot[:-1].reshape(T - 1, -1),
            vel.reshape(T - 1, -1),
            contacts.astype(np.float64),
        ],
        axis=-1,
    ).astype(np.float32)


# ----------------------------------------------------------------------------------------------------------------
# decoding: recover_from_ric, numpy and torch with free leading dims


def features_to_joints(features: "np.ndarray | torch.Tensor", skeleton: Skeleton = SMPL22):
    """features (..., T, D) -> joints (..., T, J, 3) in dataset units, as HumanML3D's `recover_from_ric`
    (metres for SMPL-22; divide by `skeleton.unit_scale` for metres on KIT-21).

    numpy in, numpy out (computed in float64, returned in the input's float dtype); a torch tensor stays a
    tensor on its device and dtype, so the model can decode batches.
    """
    D, J = skeleton.feature_dim, skeleton.num_joints
    if features.shape[-1] != D or features.ndim < 2:
        raise ValueError(f"features must be (..., T, {D}) for skeleton {skeleton.name}, got {tuple(features.shape)}")
    if isinstance(features, np.ndarray):
        out_dtype = features.dtype if np.issubdtype(features.dtype, np.floating) else np.float64
        joints = _recover_from_ric_np(np.asarray(features, dtype=np.float64), J)
        return joints.astype(out_dtype)
    return _recover_from_ric_torch(features, J)


def _recover_from_ric_np(data: np.ndarray, J: int) -> np.ndarray:
    # 1) yaw: cumulative half-steps (shifted by one frame), so frame 0 faces +Z
    half = np.cumsum(data[..., :-1, 0], axis=-1)
    half = np.concatenate([np.zeros_like(data[..., :1, 0]), half], axis=-1)  # (..., T)
    c, s = np.cos(2 * half), np.sin(2 * half)
    # 2) root XZ: integrate velocities rotated back by the inverse yaw (x = vx c - vz s, z = vx s + vz c)
    vx, vz = data[..., :-1, 1], data[..., :-1, 2]
    dx = vx * c[..., 1:] - vz * s[..., 1:]
    dz = vx * s[..., 1:] + vz * c[..., 1:]
    zero = np.zeros_like(data[..., :1, 0])
    rx = np.cumsum(np.concatenate([zero, dx], axis=-1), axis=-1)
    rz = np.cumsum(np.concatenate([zero, dz], axis=-1), axis=-1)
    # 3) joints: rotate ric back, add root XZ, prepend the root
    ric = data[..., 4 : 4 + (J - 1) * 3].reshape(data.shape[:-1] + (J - 1, 3))
    c, s = c[..., None], s[..., None]
    x = ric[..., 0] * c - ric[..., 2] * s + rx[..., None]
    z = ric[..., 0] * s + ric[..., 2] * c + rz[..., None]
    body = np.stack([x, ric[..., 1], z], axis=-1)
    root = np.stack([rx, data[..., 3], rz], axis=-1)[..., None, :]
    return np.concatenate([root, body], axis=-2)


def _recover_from_ric_torch(data: "torch.Tensor", J: int) -> "torch.Tensor":
    import torch

    half = torch.cumsum(data[..., :-1, 0], dim=-1)
    half = torch.cat([torch.zeros_like(data[..., :1, 0]), half], dim=-1)
    c, s = torch.cos(2 * half), torch.sin(2 * half)
    vx, vz = data[..., :-1, 1], data[..., :-1, 2]
    zero = torch.zeros_like(data[..., :1, 0])
    rx = torch.cumsum(torch.cat([zero, vx * c[..., 1:] - vz * s[..., 1:]], dim=-1), dim=-1)
    rz = torch.cumsum(torch.cat([zero, vx * s[..., 1:] + vz * c[..., 1:]], dim=-1), dim=-1)
    ric = data[..., 4 : 4 + (J - 1) * 3].reshape(data.shape[:-1] + (J - 1, 3))
    c, s = c[..., None], s[..., None]
    x = ric[..., 0] * c - ric[..., 2] * s + rx[..., None]
    z = ric[..., 0] * s + ric[..., 2] * c + rz[..., None]
    body = torch.stack([x, ric[..., 1], z], dim=-1)
    root = torch.stack([rx, data[..., 3], rz], dim=-1)[..., None, :]
    return torch.cat([root, body], dim=-2)
