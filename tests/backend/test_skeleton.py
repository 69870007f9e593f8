import numpy as np
import pytest

from motion_mamba.kinematics import forward_kinematics
from motion_mamba.skeleton import KIT21, SMPL22, get_skeleton


@pytest.mark.parametrize("sk", [SMPL22, KIT21])
def test_skeleton_is_consistent(sk):
    assert len(sk.names) == len(sk.parents) == sk.num_joints
    assert sk.parents[0] == -1
    # every joint is on exactly one kinematic chain after the root
    on_chains = sorted({j for chain in sk.kinematic_chains for j in chain})
    assert on_chains == list(range(sk.num_joints))
    # mirror pairs are mirror images in the rest pose
    rest = sk.rest_joints()
    mirrored = rest[sk.mirror_index] * np.array([-1, 1, 1])
    np.testing.assert_allclose(mirrored, rest, atol=1e-9)
    assert np.all(sk.bone_lengths[1:] > 0.02)


def test_smpl22_layout_matches_humanml3d():
    assert SMPL22.num_joints == 22 and SMPL22.feature_dim == 263 and SMPL22.fps == 20
    assert SMPL22.names[15] == "head" and SMPL22.parents[15] == 12
    rest = SMPL22.rest_joints()
    assert rest[SMPL22.index("left_hip"), 0] > 0  # faces +Z, so left is +X
    assert 0.85 < rest[0, 1] - rest[:, 1].min() < 1.0  # pelvis height of an adult
    assert KIT21.feature_dim == 251


def test_get_skeleton_errors_name_choices():
    assert get_skeleton("smpl22") is SMPL22
    with pytest.raises(KeyError, match="smpl22"):
        get_skeleton("nope")


def test_identity_fk_is_rest_pose():
    T = 3
    q = np.zeros((T, 22, 4))
    q[..., 0] = 1
    trans = np.array([[0.0, 1.0, 0.0]] * T)
    np.testing.assert_allclose(forward_kinematics(trans, q), SMPL22.rest_joints()[None] + trans[:, None], atol=1e-12)
