import numpy as np
import pytest
import torch

from motion_fixtures import facing_clip, random_pose_clip, sideways_walk, turning_clip, walk_clip
from motion_mamba.features import canonicalize, feature_slices, features_to_joints, joints_to_features, mean_std
from motion_mamba.rotations import qfrom_axis_angle, qrot
from motion_mamba.skeleton import KIT21, SMPL22

CLIPS = {
    "turn_720": lambda: turning_clip(160, turns=2.0),
    "sideways": lambda: sideways_walk(80),
    "faces_minus_x": lambda: facing_clip(80, facing_deg=-90.0),
    "random_poses": lambda: random_pose_clip(60, seed=3),
}


@pytest.mark.parametrize("name", sorted(CLIPS))
def test_round_trip_on_canonical_joints(name):
    joints = CLIPS[name]()
    feats = joints_to_features(joints)
    assert feats.shape == (len(joints) - 1, 263) and feats.dtype == np.float32
    back = features_to_joints(feats)
    assert back.shape == (len(joints) - 1, 22, 3)
    assert np.abs(back - canonicalize(joints)[:-1]).max() <= 1e-4


def test_canonical_frame_is_floor_origin_and_plus_z():
    joints = facing_clip(80, facing_deg=-90.0) + np.array([3.0, 0.7, -2.0])
    canon = canonicalize(joints)
    assert abs(canon[..., 1].min()) < 1e-12
    np.testing.assert_allclose(canon[0, 0, [0, 2]], 0.0, atol=1e-12)
    # a straight walk facing -X becomes a walk along +Z with the body's left on +X
    assert canon[-1, 0, 2] > 3.0 and abs(canon[-1, 0, 0]) < 0.05
    assert canon[0, SMPL22.index("left_hip"), 0] > canon[0, SMPL22.index("right_hip"), 0]
    # shape is preserved: canonicalisation is a rigid motion
    np.testing.assert_allclose(np.linalg.norm(canon[:, 4] - canon[:, 1], axis=-1),
                               np.linalg.norm(joints[:, 4] - joints[:, 1], axis=-1), atol=1e-12)


def test_features_do_not_depend_on_where_the_clip_is_or_faces():
    joints = turning_clip(100, turns=1.0)
    yaw = qfrom_axis_angle(np.array([0.0, 1.0, 0.0]), 2.1)
    moved = qrot(yaw, joints) + np.array([5.0, 1.0, -3.0])
    np.testing.assert_allclose(joints_to_features(moved), joints_to_features(joints), atol=1e-5)


def test_straight_walk_feature_values():
    speed, fps = 1.0, 20.0
    walk = walk_clip(60, facing_deg=-90.0, speed=speed, fps=fps)
    joints = walk[:1] - walk[:1, :1] + walk[:, :1]  # one rigid pose gliding along the walk's path
    f = joints_to_features(joints)
    s = feature_slices()
    np.testing.assert_allclose(f[:, s["rot_vel"]], 0.0, atol=1e-6)
    forward = np.tile([0.0, speed / fps], (59, 1))  # walking forward is local +Z
    np.testing.assert_allclose(f[:, s["lin_vel"]], forward, atol=1e-5)
    canon = canonicalize(joints)
    np.testing.assert_allclose(f[:, s["root_y"]][:, 0], canon[:-1, 0, 1], atol=1e-6)
    ric = f[:, s["ric"]].reshape(-1, 21, 3)
    np.testing.assert_allclose(ric[..., 1], canon[:-1, 1:, 1], atol=1e-6)  # heights untouched
    assert np.all(ric[:, SMPL22.index("left_hip") - 1, 0] > 0)  # left is +X in the facing frame
    vel = f[:, s["vel"]].reshape(-1, 22, 3)
    np.testing.assert_allclose(vel[:, 0, 2], speed / fps, atol=1e-5)


def test_yaw_rate_and_720_turn():
    joints = turning_clip(161, turns=2.0)
    f = joints_to_features(joints)
    total_yaw = 2.0 * f[:, 0].sum()  # rows store half the yaw step
    # facing is smoothed over ~1 s, so the measured turn lags the true 720 degrees a little at the ends
    assert 600 < abs(np.rad2deg(total_yaw)) < 730
    assert np.all(np.sign(f[5:-5, 0]) == np.sign(f[80, 0]))  # no sign flips where the angle wraps


def test_foot_contacts_follow_threshold():
    joints = walk_clip(40, speed=0.0)  # walking on the spot: feet swing, pelvis stays
    joints[:, [SMPL22.index("left_ankle"), SMPL22.index("left_foot")]] = joints[:1, [7, 10]]  # plant left foot
    f = joints_to_features(joints)
    contacts = f[:, feature_slices()["contacts"]]
    assert set(np.unique(contacts)) <= {0.0, 1.0}
    assert np.all(contacts[:, :2] == 1.0)
    step = np.sum((joints[1:, 8] - joints[:-1, 8]) ** 2, axis=-1)  # right ankle
    np.testing.assert_array_equal(contacts[:, 2], (step < SMPL22.foot_contact_threshold).astype(np.float32))


def test_torch_decoding_matches_numpy_with_batch_dims():
    feats = np.stack([joints_to_features(turning_clip(50)), joints_to_features(sideways_walk(50))])
    ref = features_to_joints(feats)
    assert ref.shape == (2, 49, 22, 3)
    out = features_to_joints(torch.from_numpy(feats))
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.shape == (2, 49, 22, 3)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-4)
    np.testing.assert_allclose(features_to_joints(feats[1]), ref[1], atol=1e-6)


def test_kit_variant_uses_its_skeleton_and_millimetres():
    joints_mm = random_pose_clip(40, seed=1, skeleton=KIT21) * KIT21.unit_scale  # KIT-ML stores millimetres
    f = joints_to_features(joints_mm, skeleton=KIT21)
    assert f.shape == (39, 251)
    assert 500 < f[0, 3] < 3000  # root height in millimetres
    back = features_to_joints(f, skeleton=KIT21)
    assert back.shape == (39, 21, 3)
    assert np.abs(back - canonicalize(joints_mm, KIT21)[:-1]).max() / KIT21.unit_scale <= 1e-4


def test_mean_std_averages_std_within_groups():
    feats = [joints_to_features(CLIPS[n]()) for n in sorted(CLIPS)]
    mean, std = mean_std(feats)
    assert mean.shape == std.shape == (263,)
    rows = np.concatenate(feats)
    np.testing.assert_allclose(mean, rows.mean(0), rtol=1e-5, atol=1e-6)
    for sl in feature_slices().values():
        assert np.allclose(std[sl], rows[:, sl].std(0).mean(), rtol=1e-5)


@pytest.mark.parametrize(
    "joints, match",
    [
        (np.zeros((10, 21, 3)), r"\(T, 22, 3\)"),
        (np.zeros((1, 22, 3)), "at least 2 frames"),
        (np.where(np.arange(22)[None, :, None] == 5, np.nan, turning_clip(10)), "NaN"),
    ],
)
def test_bad_joints_raise_clear_errors(joints, match):
    with pytest.raises(ValueError, match=match):
        joints_to_features(joints)


def test_zero_length_bone_is_named():
    joints = turning_clip(10)
    joints[4, SMPL22.index("left_knee")] = joints[4, SMPL22.index("left_hip")]
    with pytest.raises(ValueError, match="left_hip->left_knee at frame 4"):
        joints_to_features(joints)


def test_decoding_rejects_wrong_width():
    with pytest.raises(ValueError, match="263"):
        features_to_joints(np.zeros((5, 251)))


def test_mean_std_never_divides_by_zero():
    still = np.repeat(turning_clip(1), 20, axis=0)  # nothing moves: velocities and contacts are constant
    mean, std = mean_std([joints_to_features(still)])
    assert np.all(std > 0)
    assert np.all(std[feature_slices()["contacts"]] == 1.0)


def _recover_loop(data: np.ndarray, J: int) -> np.ndarray:
    """Frame-by-frame reading of recover_from_ric: yaw quaternion (cos a, 0, sin a, 0) with a the running sum of
    column 0 up to the previous row; root XZ integrates columns 1:3 turned by its inverse; ric turned back too."""
    T = len(data)
    out = np.zeros((T, J, 3))
    angle, root = 0.0, np.zeros(3)
    for t in range(T):
        if t > 0:
            angle += data[t - 1, 0]
        q_inv = np.array([np.cos(angle), 0.0, -np.sin(angle), 0.0])
        if t > 0:
            root = root + qrot(q_inv, np.array([data[t - 1, 1], 0.0, data[t - 1, 2]]))
        out[t, 0] = [root[0], data[t, 3], root[2]]
        ric = data[t, 4:4 + (J - 1) * 3].reshape(J - 1, 3)
        out[t, 1:] = qrot(np.broadcast_to(q_inv, (J - 1, 4)), ric) + root * np.array([1.0, 0.0, 1.0])
    return out


def test_decoding_matches_a_frame_by_frame_reference_on_arbitrary_rows():
    rng = np.random.default_rng(0)
    for skel in (SMPL22, KIT21):
        data = rng.normal(size=(30, skel.feature_dim))
        np.testing.assert_allclose(features_to_joints(data, skel), _recover_loop(data, skel.num_joints), atol=1e-12)
