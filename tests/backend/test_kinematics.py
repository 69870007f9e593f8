import numpy as np
import pytest

from motion_fixtures import facing_clip, random_pose_clip, sideways_walk, turning_clip, walk_clip
from motion_mamba.kinematics import (
    fit_rotations, forward_kinematics, joints_to_rotations, offsets_from_joints,
)
from motion_mamba.rotations import qfrom_axis_angle, qrot
from motion_mamba.skeleton import KIT21, SMPL22

CLIPS = {
    "turn_720": lambda: turning_clip(160, turns=2.0),
    "sideways": lambda: sideways_walk(80),
    "faces_minus_x": lambda: facing_clip(60, facing_deg=-90.0),
    "faces_away": lambda: facing_clip(60, facing_deg=180.0),
    "random_0": lambda: random_pose_clip(80, seed=0),
    "random_7": lambda: random_pose_clip(80, seed=7),
}


def _step_angles_deg(q: np.ndarray) -> np.ndarray:
    """(T-1, J) rotation angle between consecutive frames."""
    dots = np.clip(np.abs(np.sum(q[1:] * q[:-1], axis=-1)), 0.0, 1.0)
    return np.degrees(2 * np.arccos(dots))


@pytest.mark.parametrize("name", sorted(CLIPS))
def test_fk_of_ik_reproduces_fk_joints(name):
    joints = CLIPS[name]()
    root, rot = joints_to_rotations(joints)
    assert root.shape == (len(joints), 3) and rot.shape == (len(joints), 22, 4)
    np.testing.assert_allclose(np.linalg.norm(rot, axis=-1), 1.0, atol=1e-9)
    assert np.abs(forward_kinematics(root, rot) - joints).max() < 1e-3 * 1e-3  # far inside the 1 mm promise


@pytest.mark.parametrize("name", sorted(CLIPS))
def test_rotations_are_continuous_in_time(name):
    """No 180 degree flips: joint rotations move about as fast as the ground truth does."""
    joints = CLIPS[name]()
    _, rot = joints_to_rotations(joints)
    steps = _step_angles_deg(rot)
    assert steps.max() < 30.0, f"largest frame-to-frame turn {steps.max():.1f} deg at joint {steps.max(0).argmax()}"


def test_walk_rotations_look_like_a_walk():
    joints, _, truth = walk_clip(60, facing_deg=-90.0, with_rotations=True)
    root, rot = joints_to_rotations(joints)
    # the root (pelvis) orientation is fully determined by hips and spine: it matches the truth
    np.testing.assert_allclose(np.abs(np.sum(rot[:, 0] * truth[:, 0], axis=-1)), 1.0, atol=1e-9)
    # knees are hinges: their rotation axis is (anti)parallel to the hip's left-right axis
    knee = SMPL22.index("left_knee")
    bent = 2 * np.arccos(np.clip(np.abs(rot[:, knee, 0]), 0, 1)) > 0.3
    axis = rot[bent, knee, 1:] / np.linalg.norm(rot[bent, knee, 1:], axis=-1, keepdims=True)
    assert np.all(np.abs(axis[:, 0]) > 0.9)  # within 25 degrees (the rest leg is not quite straight)


def test_any_rigid_skeleton_with_its_offsets():
    rng = np.random.default_rng(1)
    _, root, rot = random_pose_clip(40, seed=3, with_rotations=True)
    offsets = SMPL22.offsets * rng.uniform(0.7, 1.3, size=(22, 1)) + rng.normal(0, 0.03, size=(22, 3))
    offsets[0] = 0
    joints = forward_kinematics(root, rot, offsets)
    assert fit_rotations(joints).max_error > 0.05  # the standard skeleton cannot fit these bones ...
    assert fit_rotations(joints, offsets=offsets).max_error < 1e-6  # ... its own offsets can
    estimated = offsets_from_joints(joints)  # and so can offsets measured from the motion itself
    np.testing.assert_allclose(np.linalg.norm(estimated, axis=-1), np.linalg.norm(offsets, axis=-1), atol=1e-9)
    assert fit_rotations(joints, offsets=estimated).max_error < 1e-6


def test_unreachable_joints_get_best_fit_and_reported_error():
    joints = walk_clip(30)
    spine3, collars = SMPL22.index("spine3"), [SMPL22.index("left_collar"), SMPL22.index("right_collar")]
    joints[:, collars] += np.array([0.0, 0.04, 0.0])  # shrug: the shoulder girdle no longer matches the rest layout
    result = fit_rotations(joints)
    assert result.error.shape == (30, 22)
    assert 0.005 < result.max_error < 0.1
    assert result.error[:, :spine3 + 1].max() < 1e-9  # joints below the girdle are still exact
    kids = [SMPL22.index("neck")] + collars
    naive = np.linalg.norm(forward_kinematics(*joints_to_rotations(walk_clip(30))) - joints, axis=-1)
    assert np.sum(result.error[:, kids] ** 2) < np.sum(naive[:, kids] ** 2)  # least squares beats ignoring it


def test_kit_skeleton_round_trip():
    joints = random_pose_clip(30, seed=4, skeleton=KIT21)
    root, rot = joints_to_rotations(joints, skeleton=KIT21)
    assert rot.shape == (30, 21, 4)
    assert np.abs(forward_kinematics(root, rot, skeleton=KIT21) - joints).max() < 1e-6


def test_ik_is_equivariant_to_turning_the_whole_clip():
    joints = sideways_walk(30)
    yaw = qfrom_axis_angle(np.array([0.0, 1.0, 0.0]), 2.5)
    _, rot = joints_to_rotations(joints)
    _, rot_turned = joints_to_rotations(qrot(yaw, joints))
    np.testing.assert_allclose(np.abs(np.sum(rot[:, 1:] * rot_turned[:, 1:], axis=-1)), 1.0, atol=1e-9)


def test_bad_input_errors():
    with pytest.raises(ValueError, match=r"\(T, 22, 3\)"):
        joints_to_rotations(np.zeros((5, 24, 3)))
    joints = walk_clip(5)
    joints[2, 3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        joints_to_rotations(joints)
    with pytest.raises(ValueError, match="offsets"):
        joints_to_rotations(walk_clip(5), offsets=np.zeros((22, 3)))
