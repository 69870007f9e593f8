"""The skeletons motion is expressed on: HumanML3D's 22-joint SMPL body and KIT-ML's 21-joint MMM body.

This module is the single source of truth for joint names, hierarchy, rest offsets and the indices the feature
representation needs (feet, facing joints). Every other module, the wire protocol and the Blender add-on take
these facts from here.

Conventions (HumanML3D): metres, Y up, the character faces +Z at frame 0, so its left is +X.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Skeleton:
    """An immutable description of a kinematic tree.

    `offsets` are the standard rest-pose bone vectors (child minus parent, metres) in a T-pose facing +Z;
    `raw_offsets` are HumanML3D's unit bone directions used as IK references (`paramUtil.py`).
    """

    name: str
    names: tuple[str, ...]
    parents: tuple[int, ...]  # parent index per joint, -1 for the root; parents come before children
    offsets_m: tuple[tuple[float, float, float], ...]
    raw_offsets_dir: tuple[tuple[int, int, int], ...]
    kinematic_chains: tuple[tuple[int, ...], ...]
    left_right: tuple[tuple[int, int], ...]  # mirror pairs (left, right)
    feet_left: tuple[int, int]  # (ankle, toe) joints whose velocity decides left foot contact
    feet_right: tuple[int, int]
    face_joints: tuple[int, int, int, int]  # (r_hip, l_hip, r_shoulder, l_shoulder): facing direction
    fps: float  # native frame rate of the dataset
    feature_dim: int  # size of the HumanML3D-style feature vector
    foot_contact_threshold: float  # squared per-frame displacement below which a foot is in contact
    unit_scale: float = 1.0  # dataset units per metre (KIT-ML stores millimetres)

    def __post_init__(self) -> None:
        j = len(self.names)
        if not (len(self.parents) == len(self.offsets_m) == len(self.raw_offsets_dir) == j):
            raise ValueError(f"skeleton {self.name}: names, parents and offsets disagree in length")
        if self.parents[0] != -1 or any(not (0 <= p < i) for i, p in enumerate(self.parents) if i):
            raise ValueError(f"skeleton {self.name}: parents must be topologically ordered with the root first")
        expected = 4 + (j - 1) * 3 + (j - 1) * 6 + j * 3 + 4
        if self.feature_dim != expected:
            raise ValueError(f"skeleton {self.name}: feature_dim {self.feature_dim} != {expected}")

    @property
    def num_joints(self) -> int:
        return len(self.names)

    @property
    def offsets(self) -> np.ndarray:
        """(J, 3) float64 rest bone vectors in metres (root row is zero)."""
        return np.asarray(self.offsets_m, dtype=np.float64)

    @property
    def raw_offsets(self) -> np.ndarray:
        """(J, 3) float64 unit bone directions (HumanML3D `*_raw_offsets`)."""
        return np.asarray(self.raw_offsets_dir, dtype=np.float64)

    @property
    def bone_lengths(self) -> np.ndarray:
        """(J,) standard bone lengths in metres (0 for the root)."""
        return np.linalg.norm(self.offsets, axis=-1)

    @property
    def children(self) -> tuple[tuple[int, ...], ...]:
        return tuple(tuple(c for c, p in enumerate(self.parents) if p == j) for j in range(self.num_joints))

    @property
    def mirror_index(self) -> np.ndarray:
        """(J,) index of each joint's mirror image (itself on the mid-line)."""
        idx = np.arange(self.num_joints)
        for left, right in self.left_right:
            idx[left], idx[right] = right, left
        return idx

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"skeleton {self.name} has no joint {name!r}; joints: {', '.join(self.names)}") from None

    def rest_joints(self) -> np.ndarray:
        """(J, 3) world positions of the rest pose with the root at the origin."""
        pos = np.zeros((self.num_joints, 3))
        for j, p in enumerate(self.parents):
            if p >= 0:
                pos[j] = pos[p] + self.offsets[j]
        return pos


def _chains_to_parents(n: int, chains: list[list[int]]) -> tuple[int, ...]:
    parents = [-1] * n
    for chain in chains:
        for parent, child in zip(chain[:-1], chain[1:]):
            parents[child] = parent
    return tuple(parents)


def _symmetric(half: dict[int, tuple[float, float, float]], pairs: list[tuple[int, int]], n: int):
    """Offsets for a left/right-symmetric body from the left side and the mid-line (right = left mirrored in X)."""
    out: list[tuple[float, float, float]] = [(0.0, 0.0, 0.0)] * n
    for j, v in half.items():
        out[j] = v
    for left, right in pairs:
        x, y, z = half[left]
        out[right] = (-x, y, z)
    return tuple(out)


# --- HumanML3D / SMPL, 22 joints ------------------------------------------------------------------------------
_SMPL_CHAINS = [[0, 2, 5, 8, 11], [0, 1, 4, 7, 10], [0, 3, 6, 9, 12, 15], [9, 14, 17, 19, 21], [9, 13, 16, 18, 20]]
_SMPL_PAIRS = [(1, 2), (4, 5), (7, 8), (10, 11), (13, 14), (16, 17), (18, 19), (20, 21)]
# Rest bone vectors of the SMPL neutral template's joint regressor (T-pose), rounded and made left/right
# symmetric: an adult of about 1.70 m whose pelvis stands 0.93 m above the floor.
_SMPL_LEFT_AND_MID = {
    1: (0.070, -0.091, -0.004),  # pelvis -> left_hip
    3: (0.000, 0.115, -0.025),  # pelvis -> spine1
    4: (0.036, -0.378, 0.008),  # left_hip -> left_knee
    6: (0.000, 0.136, 0.025),  # spine1 -> spine2
    7: (-0.014, -0.397, -0.057),  # left_knee -> left_ankle
    9: (0.000, 0.053, -0.003),  # spine2 -> spine3
    10: (0.030, -0.056, 0.120),  # left_ankle -> left_foot (toe base)
    12: (0.000, 0.213, -0.034),  # spine3 -> neck
    13: (0.075, 0.118, -0.025),  # spine3 -> left_collar
    15: (0.000, 0.065, 0.051),  # neck -> head
    16: (0.097, 0.031, -0.010),  # left_collar -> left_shoulder
    18: (0.258, -0.014, -0.023),  # left_shoulder -> left_elbow
    20: (0.254, 0.009, -0.003),  # left_elbow -> left_wrist
}

SMPL22 = Skeleton(
    name="smpl22",
    names=(
        "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle",
        "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head",
        "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    ),
    parents=_chains_to_parents(22, _SMPL_CHAINS),
    offsets_m=_symmetric(_SMPL_LEFT_AND_MID, _SMPL_PAIRS, 22),
    raw_offsets_dir=(
        (0, 0, 0), (1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, -1, 0), (0, 1, 0), (0, -1, 0),
        (0, -1, 0), (0, 1, 0), (0, 0, 1), (0, 0, 1), (0, 1, 0), (1, 0, 0), (-1, 0, 0), (0, 0, 1),
        (0, -1, 0), (0, -1, 0), (0, -1, 0), (0, -1, 0), (0, -1, 0), (0, -1, 0),
    ),
    kinematic_chains=tuple(tuple(c) for c in _SMPL_CHAINS),
    left_right=tuple(_SMPL_PAIRS),
    feet_left=(7, 10),
    feet_right=(8, 11),
    face_joints=(2, 1, 17, 16),
    fps=20.0,
    feature_dim=263,
    foot_contact_threshold=0.002,
)

# --- KIT-ML / MMM, 21 joints -----------------------------------------------------------------------------------
_KIT_CHAINS = [[0, 11, 12, 13, 14, 15], [0, 16, 17, 18, 19, 20], [0, 1, 2, 3, 4], [3, 5, 6, 7], [3, 8, 9, 10]]
_KIT_PAIRS = [(5, 8), (6, 9), (7, 10), (11, 16), (12, 17), (13, 18), (14, 19), (15, 20)]
# Rest bone vectors of the MMM reference model scaled to 1.70 m (metres; the dataset itself stores millimetres).
_KIT_LEFT_AND_MID = {
    1: (0.000, 0.070, 0.000),  # root -> BP (pelvis)
    2: (0.000, 0.180, 0.000),  # BP -> BT (thorax)
    3: (0.000, 0.240, 0.000),  # BT -> BLN (lower neck)
    4: (0.000, 0.120, 0.000),  # BLN -> BUN (upper neck / head)
    5: (0.180, -0.030, 0.000),  # BLN -> LS
    6: (0.000, -0.280, 0.000),  # LS -> LE
    7: (0.000, -0.250, 0.000),  # LE -> LW
    11: (0.090, -0.020, 0.000),  # root -> LH
    12: (0.000, -0.420, 0.000),  # LH -> LK
    13: (0.000, -0.410, 0.000),  # LK -> LA
    14: (0.000, -0.060, 0.090),  # LA -> LMrot
    15: (0.000, 0.000, 0.060),  # LMrot -> LF
}

KIT21 = Skeleton(
    name="kit21",
    names=(
        "root", "BP", "BT", "BLN", "BUN", "LS", "LE", "LW", "RS", "RE", "RW",
        "LH", "LK", "LA", "LMrot", "LF", "RH", "RK", "RA", "RMrot", "RF",
    ),
    parents=_chains_to_parents(21, _KIT_CHAINS),
    offsets_m=_symmetric(_KIT_LEFT_AND_MID, _KIT_PAIRS, 21),
    raw_offsets_dir=(
        (0, 0, 0), (0, 1, 0), (0, 1, 0), (0, 1, 0), (0, 1, 0), (1, 0, 0), (0, -1, 0), (0, -1, 0),
        (-1, 0, 0), (0, -1, 0), (0, -1, 0), (1, 0, 0), (0, -1, 0), (0, -1, 0), (0, 0, 1), (0, 0, 1),
        (-1, 0, 0), (0, -1, 0), (0, -1, 0), (0, 0, 1), (0, 0, 1),
    ),
    kinematic_chains=tuple(tuple(c) for c in _KIT_CHAINS),
    left_right=tuple(_KIT_PAIRS),
    feet_left=(19, 20),  # HumanML3D's KIT processing: fid_l = [19, 20], fid_r = [14, 15]
    feet_right=(14, 15),
    face_joints=(11, 16, 5, 8),  # as HumanML3D's KIT processing
    fps=12.5,
    feature_dim=251,
    foot_contact_threshold=0.05,
    unit_scale=1000.0,
)

SKELETONS: dict[str, Skeleton] = {s.name: s for s in (SMPL22, KIT21)}


def get_skeleton(name: str) -> Skeleton:
    try:
        return SKELETONS[name]
    except KeyError:
        raise KeyError(f"unknown skeleton {name!r}; choose one of {sorted(SKELETONS)}") from None
