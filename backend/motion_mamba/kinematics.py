"""Forward and inverse kinematics on a `Skeleton`: one local rotation per joint, as in SMPL and BVH.

A joint's rotation moves all its children: global G_j = G_parent(j) ⊗ R_j and
p_c = p_j + G_j · offset_c for every child c of j. The root's position is the root translation.
"""

from __future__ import annotations

import numpy as np

from .rotations import qmul, qrot
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
