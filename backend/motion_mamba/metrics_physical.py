"""Physical plausibility of joint motion: foot skating, floor penetration, bone-length drift and jerk.

All functions take joints (T, J, 3) in metres, Y up, floor at y = 0 (the HumanML3D layout puts the lowest joint
of a clip on the floor), and return plain floats in SI units, so generated and dataset motion compare directly.

Definitions (the common ones in the text-to-motion literature, e.g. GMD / OmniControl):
- a foot joint (SMPL-22: the toe-base joints `left_foot`/`right_foot`) is *in contact* at step t -> t+1 when
  its height is below `contact_height` (5 cm) in both frames;
- foot skating speed = mean horizontal speed (m/s) of contact foot joints over all contact steps;
- skating ratio = fraction of contact steps whose horizontal displacement exceeds 2.5 cm per frame at 20 fps
  (0.5 m/s);
- penetration = depth (m) of joints below the floor: the maximum, and the mean over frames of each frame's
  deepest joint;
- bone-length error = max |length_t - length_ref| over frames and bones (m), with the reference the skeleton's
  standard lengths or the clip's own per-bone median;
- jerk = |d^3 x / dt^3| of every joint by finite differences (m/s^3): the mean and the maximum.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .skeleton import SMPL22, Skeleton

CONTACT_HEIGHT = 0.05  # metres
SKATE_STEP = 0.025  # metres per frame at 20 fps


def _foot_joints(skeleton: Skeleton) -> list[int]:
    return [skeleton.feet_left[1], skeleton.feet_right[1]]


def _check(joints: np.ndarray, skeleton: Skeleton, min_frames: int = 2) -> np.ndarray:
    j = np.asarray(joints, dtype=np.float64)
    if j.ndim != 3 or j.shape[1:] != (skeleton.num_joints, 3) or len(j) < min_frames:
        raise ValueError(f"joints must be (T >= {min_frames}, {skeleton.num_joints}, 3), got {j.shape}")
    return j


def foot_contacts(joints: np.ndarray, skeleton: Skeleton = SMPL22, contact_height: float = CONTACT_HEIGHT) -> np.ndarray:
    """(T-1, 2) bool: each foot joint below `contact_height` in frames t and t+1."""
    h = _check(joints, skeleton)[:, _foot_joints(skeleton), 1]
    low = h < contact_height
    return low[1:] & low[:-1]


def foot_skating(joints: np.ndarray, fps: float, skeleton: Skeleton = SMPL22,
                 contact_height: float = CONTACT_HEIGHT) -> tuple[float, float, int]:
    """(mean contact-foot horizontal speed m/s, skating ratio, number of contact steps)."""
    j = _check(joints, skeleton)
    feet = j[:, _foot_joints(skeleton)]
    step = np.linalg.norm(np.diff(feet[..., [0, 2]], axis=0), axis=-1)  # (T-1, 2) metres per frame
    c = foot_contacts(j, skeleton, contact_height)
    if not c.any():
        return 0.0, 0.0, 0
    speed = float(step[c].mean() * fps)
    ratio = float((step[c] > SKATE_STEP * 20.0 / fps).mean())
    return speed, ratio, int(c.sum())


def penetration(joints: np.ndarray, skeleton: Skeleton = SMPL22) -> tuple[float, float]:
    """(max depth below y = 0, mean over frames of the deepest joint's depth), metres."""
    y = _check(joints, skeleton, 1)[..., 1]
    depth = np.maximum(-y.min(axis=1), 0.0)
    return float(depth.max()), float(depth.mean())


def bone_length_error(joints: np.ndarray, skeleton: Skeleton = SMPL22, reference: str = "median") -> float:
    """Max |bone length - reference| in metres; reference "median" (the clip's own) or "standard" (skeleton)."""
    j = _check(joints, skeleton, 1)
    parents = np.asarray(skeleton.parents[1:])
    lengths = np.linalg.norm(j[:, 1:] - j[:, parents], axis=-1)  # (T, J-1)
    if reference == "standard":
        ref = skeleton.bone_lengths[1:]
    elif reference == "median":
        ref = np.median(lengths, axis=0)
    else:
        raise ValueError(f"reference must be 'median' or 'standard', got {reference!r}")
    return float(np.abs(lengths - ref).max())


def jerk(joints: np.ndarray, fps: float, skeleton: Skeleton = SMPL22) -> tuple[float, float]:
    """(mean, max) joint jerk magnitude in m/s^3 from third finite differences."""
    j = _check(joints, skeleton, 4)
    d3 = np.linalg.norm(np.diff(j, n=3, axis=0), axis=-1) * fps**3
    return float(d3.mean()), float(d3.max())


@dataclass
class PhysicalReport:
    skate_speed: float  # m/s
    skate_ratio: float
    contact_steps: int
    penetration_max: float  # m
    penetration_mean: float  # m
    bone_error: float  # m, against the clip's own median lengths
    jerk_mean: float  # m/s^3
    jerk_max: float  # m/s^3

    def as_dict(self) -> dict:
        return asdict(self)


def physical_report(joints: np.ndarray, fps: float, skeleton: Skeleton = SMPL22) -> PhysicalReport:
    speed, ratio, steps = foot_skating(joints, fps, skeleton)
    pmax, pmean = penetration(joints, skeleton)
    jmean, jmax = jerk(joints, fps, skeleton)
    return PhysicalReport(speed, ratio, steps, pmax, pmean, bone_length_error(joints, skeleton), jmean, jmax)


def summarize(reports: list[PhysicalReport]) -> dict[str, float]:
    """Corpus-level numbers: skating speed weighted by contact steps; means and worst cases of the rest."""
    steps = np.array([r.contact_steps for r in reports], dtype=np.float64)
    speeds = np.array([r.skate_speed for r in reports])
    ratios = np.array([r.skate_ratio for r in reports])
    w = steps / max(steps.sum(), 1.0)
    return {
        "clips": len(reports),
        "skate_speed_cm_s": float((speeds * w).sum() * 100),
        "skate_speed_worst_clip_cm_s": float(speeds.max() * 100),
        "skate_ratio": float((ratios * w).sum()),
        "penetration_max_cm": float(max(r.penetration_max for r in reports) * 100),
        "penetration_mean_cm": float(np.mean([r.penetration_mean for r in reports]) * 100),
        "bone_error_max_mm": float(max(r.bone_error for r in reports) * 1000),
        "jerk_mean": float(np.mean([r.jerk_mean for r in reports])),
        "jerk_max": float(max(r.jerk_max for r in reports)),
    }
