"""Physical metrics on hand-built motions with known answers."""

import numpy as np
import pytest

from motion_mamba.metrics_physical import bone_length_error, foot_skating, jerk, penetration, physical_report
from motion_mamba.skeleton import SMPL22


def _standing(T: int = 30) -> np.ndarray:
    rest = SMPL22.rest_joints()
    rest[:, 1] -= rest[:, 1].min()
    return np.repeat(rest[None], T, axis=0)


def test_sliding_foot_speed_and_ratio():
    j = _standing()
    j[:, 10, 0] += 0.1 * np.arange(30) / 20.0  # left toe slides at 0.1 m/s on the floor
    speed, ratio, steps = foot_skating(j, 20.0)
    assert steps == 2 * 29 and speed == pytest.approx(0.05, abs=1e-9)  # mean over both feet, one still
    assert ratio == 0.0
    j[:, 11, 2] += 0.04 * np.arange(30)  # right toe: 4 cm per frame -> counts as skating
    assert foot_skating(j, 20.0)[1] == pytest.approx(0.5)
    j[:, [10, 11], 1] += 0.2  # lifted feet are not in contact
    assert foot_skating(j, 20.0) == (0.0, 0.0, 0)


def test_penetration_bones_and_jerk():
    j = _standing()
    assert penetration(j) == (0.0, 0.0)
    j[5, 21, 1] = -0.03
    assert penetration(j)[0] == pytest.approx(0.03)
    assert bone_length_error(_standing(), reference="standard") < 1e-12
    stretched = _standing()
    stretched[:, 20] += np.array([0.02, 0.0, 0.0])  # the left forearm 2 cm longer
    assert bone_length_error(stretched, reference="standard") == pytest.approx(0.02, abs=1e-4)
    moving = _standing() + np.arange(30)[:, None, None] * np.array([0.05, 0.0, 0.0])  # constant velocity
    assert jerk(moving, 20.0)[1] < 1e-6
    moving[15] += 0.05  # a one-frame pop
    assert jerk(moving, 20.0)[1] > 1000.0
    r = physical_report(_standing(), 20.0)
    assert r.skate_speed == 0.0 and r.contact_steps == 58


def test_bad_shape_is_rejected():
    with pytest.raises(ValueError, match=r"joints must be"):
        foot_skating(np.zeros((10, 21, 3)), 20.0)
