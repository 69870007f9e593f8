"""Quaternion and rotation-representation helpers in numpy (w, x, y, z; Hamilton product; active rotations).

Broadcasting everywhere: leading dimensions are free. Used by features, kinematics, BVH and the add-on's math.
"""

from __future__ import annotations

import numpy as np

_EPS = 1e-12


def qnormalize(q: np.ndarray) -> np.ndarray:
    return q / np.maximum(np.linalg.norm(q, axis=-1, keepdims=True), _EPS)


def qinv(q: np.ndarray) -> np.ndarray:
    """Inverse of a unit quaternion (its conjugate)."""
    return q * np.array([1.0, -1.0, -1.0, -1.0], dtype=q.dtype)


def qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product a ⊗ b (apply b first, then a)."""
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=-1,
    )


def qrot(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors v (..., 3) by unit quaternions q (..., 4): v' = v + 2w(u×v) + 2u×(u×v)."""
    w, u = q[..., :1], q[..., 1:]
    uv = np.cross(u, v)
    return v + 2.0 * (w * uv + np.cross(u, uv))


def qfrom_axis_angle(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / np.maximum(np.linalg.norm(axis, axis=-1, keepdims=True), _EPS)
    half = 0.5 * np.asarray(angle, dtype=np.float64)[..., None]
    return np.concatenate([np.cos(half), np.sin(half) * axis], axis=-1)


def qbetween(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Shortest-arc unit quaternion rotating direction a onto direction b (antiparallel: 180° about any normal)."""
    a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), _EPS)
    b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), _EPS)
    w = 1.0 + np.sum(a * b, axis=-1, keepdims=True)
    xyz = np.cross(a, b)
    anti = w[..., 0] < 1e-9
    if np.any(anti):
        # pick any axis orthogonal to a
        alt = np.where(np.abs(a[..., :1]) < 0.9, np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]))
        ortho = np.cross(a, alt)
        xyz = np.where(anti[..., None], ortho, xyz)
        w = np.where(anti[..., None], 0.0, w)
    return qnormalize(np.concatenate([w, xyz], axis=-1))


def qcontinuous(q: np.ndarray, axis: int = 0) -> np.ndarray:
    """Flip signs along `axis` (time) so consecutive quaternions lie in the same hemisphere (q and -q are equal)."""
    q = np.moveaxis(np.asarray(q), axis, 0)
    flips = np.sum(q[1:] * q[:-1], axis=-1) < 0  # (T-1, ...) sign changes between neighbours
    sign = np.where(np.cumsum(flips, axis=0) % 2 == 1, -1.0, 1.0)
    out = np.concatenate([q[:1], q[1:] * sign[..., None]], axis=0)
    return np.moveaxis(out, 0, axis)


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    w, x, y, z = np.moveaxis(qnormalize(q), -1, 0)
    return np.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
        ],
        axis=-1,
    ).reshape(q.shape[:-1] + (3, 3))


def matrix_to_quat(m: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) to unit quaternions with w >= 0 (numerically stable branch per element)."""
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    trace = m00 + m11 + m22
    cands = np.stack(
        [
            np.stack([1 + trace, m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]], -1),
            np.stack([m[..., 2, 1] - m[..., 1, 2], 1 + m00 - m11 - m22, m[..., 0, 1] + m[..., 1, 0], m[..., 0, 2] + m[..., 2, 0]], -1),
            np.stack([m[..., 0, 2] - m[..., 2, 0], m[..., 0, 1] + m[..., 1, 0], 1 - m00 + m11 - m22, m[..., 1, 2] + m[..., 2, 1]], -1),
            np.stack([m[..., 1, 0] - m[..., 0, 1], m[..., 0, 2] + m[..., 2, 0], m[..., 1, 2] + m[..., 2, 1], 1 - m00 - m11 + m22], -1),
        ],
        axis=-2,
    )
    best = np.argmax(np.stack([trace, m00, m11, m22], -1), axis=-1)
    q = np.take_along_axis(cands, best[..., None, None], axis=-2)[..., 0, :]
    q = qnormalize(q)
    return np.where(q[..., :1] < 0, -q, q)


def quat_to_cont6d(q: np.ndarray) -> np.ndarray:
    """Continuous 6D representation (Zhou et al. 2019): the first two columns of the rotation matrix."""
    m = quat_to_matrix(q)
    return np.concatenate([m[..., :, 0], m[..., :, 1]], axis=-1)


def cont6d_to_matrix(d6: np.ndarray) -> np.ndarray:
    """Gram–Schmidt back to a rotation matrix; tolerant of un-normalised network outputs."""
    a, b = d6[..., :3], d6[..., 3:]
    x = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), _EPS)
    z = np.cross(x, b)
    z = z / np.maximum(np.linalg.norm(z, axis=-1, keepdims=True), _EPS)
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=-1)


def qslerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation from a to b by t in [0, 1] (shortest way; broadcasting, t has no last axis)."""
    t = np.asarray(t, dtype=np.float64)[..., None]
    dot = np.sum(a * b, axis=-1, keepdims=True)
    b = np.where(dot < 0, -b, b)
    dot = np.abs(dot)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin = np.sin(theta)
    near = sin < 1e-6  # nearly equal: linear interpolation is exact enough and avoids 0/0
    wa = np.where(near, 1.0 - t, np.sin((1.0 - t) * theta) / np.where(near, 1.0, sin))
    wb = np.where(near, t, np.sin(t * theta) / np.where(near, 1.0, sin))
    return qnormalize(wa * a + wb * b)


_AXES = {"X": np.array([1.0, 0.0, 0.0]), "Y": np.array([0.0, 1.0, 0.0]), "Z": np.array([0.0, 0.0, 1.0])}


def euler_to_quat(angles: np.ndarray, order: str) -> np.ndarray:
    """Angles (..., 3) in radians about the axes named by `order` (e.g. "ZYX") to quaternions, composed as BVH
    channels are: R = R_order[0] R_order[1] R_order[2] (the first-listed axis is outermost)."""
    q = qfrom_axis_angle(_AXES[order[0]], angles[..., 0])
    for i in (1, 2):
        q = qmul(q, qfrom_axis_angle(_AXES[order[i]], angles[..., i]))
    return q


def quat_to_euler(q: np.ndarray, order: str) -> np.ndarray:
    """Inverse of `euler_to_quat` for order "ZYX" or "XYZ": (..., 4) -> (..., 3) radians, in `order`."""
    m = quat_to_matrix(q)
    if order == "ZYX":  # R = Rz(a) Ry(b) Rx(c)
        b = np.arcsin(np.clip(-m[..., 2, 0], -1.0, 1.0))
        return np.stack([np.arctan2(m[..., 1, 0], m[..., 0, 0]), b, np.arctan2(m[..., 2, 1], m[..., 2, 2])], -1)
    if order == "XYZ":  # R = Rx(a) Ry(b) Rz(c)
        b = np.arcsin(np.clip(m[..., 0, 2], -1.0, 1.0))
        return np.stack([np.arctan2(-m[..., 1, 2], m[..., 2, 2]), b, np.arctan2(-m[..., 0, 1], m[..., 0, 0])], -1)
    raise ValueError(f"unsupported Euler order {order!r}; choose 'ZYX' or 'XYZ'")
