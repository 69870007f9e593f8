import numpy as np
import pytest

from motion_fixtures import walk_clip
from motion_mamba.data.synth.compose import synthesize
from motion_mamba.features import canonicalize
from motion_mamba.kinematics import forward_kinematics
from motion_mamba.metrics_physical import CONTACT_HEIGHT, bone_length_error, foot_skating, jerk
from motion_mamba.postprocess import (clean_joints, contact_runs, follow_bones, lock_feet, lock_offsets,
                                      planted_runs, pull_into_reach, rigid, two_bone_ik)
from motion_mamba.skeleton import SMPL22


def corpus_walk(seed: int = 0) -> np.ndarray:
    _, joints = synthesize(["walk"], np.random.default_rng(seed))
    return canonicalize(joints)


def sliding(joints: np.ndarray, seed: int = 0) -> np.ndarray:
    """Generated-looking joints: every joint jittered by a smooth random drift of a few centimetres."""
    rng = np.random.default_rng(seed)
    T = len(joints)
    drift = np.cumsum(rng.normal(0.0, 0.004, (T, 22, 3)), axis=0)
    drift[..., 1] *= 0.2
    return joints + drift - drift.mean(axis=0)


def max_step(joints: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(joints, axis=0), axis=-1).max())


def test_cleanup_stops_skating_keeps_bones_and_reproduces_by_fk():
    raw = sliding(corpus_walk())
    skate_raw = foot_skating(raw, 20.0)[0]
    joints, root, rotations = clean_joints(raw)
    skate, _, contacts = foot_skating(joints, 20.0)
    assert skate_raw > 0.02 and contacts > 20
    assert skate < 0.05 * skate_raw and skate < 0.005  # m/s
    assert bone_length_error(joints) < 1e-6
    np.testing.assert_allclose(np.linalg.norm(joints[:, 1:] - joints[:, SMPL22.parents[1:]], axis=-1)[0],
                               SMPL22.bone_lengths[1:], atol=1e-6)
    np.testing.assert_allclose(forward_kinematics(root, rotations), joints, atol=1e-6)
    assert joints[..., 1].min() == pytest.approx(0.0, abs=1e-9)
    assert max_step(joints) < 1.5 * max_step(raw)  # locking never makes a foot jump


def test_standard_bones_aimed_from_the_placed_parent_keep_the_hands_where_the_model_put_them():
    """Generated joints, each off by a few centimetres, so every bone has the wrong length: setting the standard
    lengths bone by bone, each aimed from its parent's new position, leaves the wrists, head and feet near the
    model's; keeping each bone's own direction (IK alone) adds up the length errors along every chain. A rigid clip
    is left as it is."""
    clean = corpus_walk(seed=1)
    np.testing.assert_allclose(follow_bones(clean), clean, atol=1e-9)
    noisy = clean + np.random.default_rng(0).normal(0.0, 0.03, clean.shape)
    followed = follow_bones(noisy)
    np.testing.assert_allclose(np.linalg.norm(followed[:, 1:] - followed[:, SMPL22.parents[1:]], axis=-1),
                               np.broadcast_to(SMPL22.bone_lengths[1:], (len(clean), 21)), atol=1e-9)
    ends = [SMPL22.index(n) for n in ("head", "left_wrist", "right_wrist", "left_foot", "right_foot")]
    kept = np.linalg.norm(rigid(followed)[0][:, ends] - noisy[:, ends], axis=-1).mean()
    carried = np.linalg.norm(rigid(noisy)[0][:, ends] - noisy[:, ends], axis=-1).mean()
    assert kept < 0.8 * carried  # 6.4 vs 9.0 cm


def test_a_bone_aimed_at_a_child_passing_its_parent_does_not_flip():
    """The model's wrist passes 5 mm from where the elbow is placed (its upper arm is 12 cm short), moving 2 cm a
    frame: aimed at it, the standard forearm flipped 0.31 m in one frame (run i: 0.5 m); the model's own forearm
    direction steadies it where the aim is short (0.08 m)."""
    pose = corpus_walk()[:1]
    T = 40
    shoulder, elbow, wrist = (SMPL22.index(n) for n in ("right_shoulder", "right_elbow", "right_wrist"))
    raw = np.repeat(pose, T, axis=0)
    u = (pose[0, elbow] - pose[0, shoulder]) / np.linalg.norm(pose[0, elbow] - pose[0, shoulder])
    n = np.cross(u, [0.0, 1.0, 0.0])
    n /= np.linalg.norm(n)
    v = np.cross(u, n)
    raw[:, elbow] = pose[0, elbow] - 0.12 * u
    raw[:, wrist] = pose[0, elbow] + 0.005 * n + 0.02 * (np.arange(T) - T // 2)[:, None] * v
    followed = follow_bones(raw)
    np.testing.assert_allclose(followed[:, elbow], np.broadcast_to(pose[0, elbow], (T, 3)), atol=1e-9)
    assert max_step(followed[:, wrist:wrist + 1]) < 0.12


def test_cleanup_leaves_a_clean_clip_nearly_alone():
    clean = corpus_walk(seed=3)
    joints, _, _ = clean_joints(clean)
    assert np.linalg.norm(joints - clean, axis=-1).mean() < 0.01
    assert foot_skating(joints, 20.0)[0] <= foot_skating(clean, 20.0)[0] + 1e-3


def test_cleanup_removes_frame_to_frame_wobble():
    """Decoder errors independent from frame to frame (here ±1 cm alternating, the worst case) read as jitter:
    the clean-up's temporal filter takes most of it out and leaves the walk where it was."""
    clean = corpus_walk(seed=1)
    rng = np.random.default_rng(0)
    sign = np.where(np.arange(len(clean)) % 2, 1.0, -1.0)[:, None, None]
    wobbly = clean + 0.01 * sign * rng.normal(size=(1, 22, 3)) / np.sqrt(3)
    joints, _, _ = clean_joints(wobbly)
    assert jerk(joints, 20.0)[0] < 0.3 * jerk(wobbly, 20.0)[0]
    assert np.linalg.norm(joints - clean, axis=-1).mean() < 0.015


def gliding(joints: np.ndarray, speed: float = 0.6) -> np.ndarray:
    """A decoder's typical fault: the whole body drifts forward (+Z) at `speed` m/s while its feet plant."""
    out = joints.copy()
    out[..., 2] += speed / 20.0 * np.arange(len(out))[:, None]
    return out


def test_a_gliding_body_is_pulled_back_over_its_planted_feet():
    """Held where they were planted, the feet of a gliding walk fall behind until no leg reaches them: the lock
    alone straightens the leg short of its target, which slides or lifts the foot. The clean-up moves the body
    back instead, so planted toes stay on the floor and (nearly) still."""
    walk = corpus_walk()
    raw = gliding(walk)
    low = raw[:, SMPL22.feet_left[1], 1] < CONTACT_HEIGHT
    fitted = rigid(raw)[0]
    lock_alone = lock_feet(fitted)[:, SMPL22.feet_left[1], 1][low]
    joints, _, _ = clean_joints(raw)
    toe = joints[:, SMPL22.feet_left[1], 1][low]
    assert lock_alone.max() > 0.09 and toe.max() < CONTACT_HEIGHT + 0.01  # lifted ~10 cm vs at most 1 cm
    assert foot_skating(joints, 20.0)[0] < 0.1 * foot_skating(raw, 20.0)[0]
    np.testing.assert_allclose(joints[0, 0, [0, 2]], raw[0, 0, [0, 2]], atol=0.02)  # the clip starts where it did


def test_a_body_gliding_on_still_legs_takes_steps_instead_of_jumping():
    """A decoder's worst glide (run i, "a person walks forward, then sits down", seed 3): the body slides 1.2 m/s
    for 3 s with its toes 4 cm above the floor and its legs still. Held at their mean over the whole contact, such
    feet dragged the body back and let it spring forward when the contact ended (0.8 m in one frame there). The
    contact is cut into steps instead: the feet hold, swing in turn above the contact height, the body travels as
    the model moved it, and nothing moves faster than a swinging foot."""
    pose = corpus_walk()[:1]
    T, start, end = 100, 10, 70
    glide = np.clip(np.arange(T), start, end) - start  # frames of gliding so far
    raw = np.repeat(pose, T, axis=0)
    raw[..., 2] += 0.06 * glide[:, None]
    toes = [SMPL22.feet_left[1], SMPL22.feet_right[1]]
    raw[..., 1] += CONTACT_HEIGHT - 0.01 - raw[:, toes, 1].min()
    joints, _, _ = clean_joints(raw)
    assert foot_skating(joints, 20.0)[0] < 0.01 * foot_skating(raw, 20.0)[0]
    assert max_step(joints) < 0.3  # a swing (~3-4 m/s at its fastest), never a jump
    np.testing.assert_allclose(joints[-1, 0, [0, 2]], raw[-1, 0, [0, 2]], atol=0.05)  # it got where it glided to
    up = joints[:, toes, 1] > CONTACT_HEIGHT
    swings = (np.diff(up.astype(int), axis=0) == 1).sum(axis=0)
    assert np.all(swings >= 3) and (up[:, 0] & up[:, 1]).sum() <= 2  # steps, in turn


def test_planted_runs_merge_bobs_cut_slides_into_steps_and_lift_the_swings():
    T = 60
    toe = np.zeros((T, 3))
    toe[:, 1] = 0.02
    toe[20, 1] = 0.07  # a one-frame bob over the contact height: not a step
    runs, lift = planted_runs(toe)
    assert runs == [(0, T)] and not lift.any()
    toe[30:, 2] = 0.05 * np.arange(T - 30)  # then it slides 1.45 m
    runs, lift = planted_runs(toe, step=0.5, swing=4)
    assert [s for s, _ in runs] == [0, 42, 52] and runs[0][1] == 38  # cuts where it has slid 0.5 m, 1.0 m
    assert np.all(toe[lift > 0, 1] + lift[lift > 0] > CONTACT_HEIGHT) and np.all(lift[:38] == 0)
    assert planted_runs(toe, step=0.5, swing=4, phase=0.5)[0][1][0] == 37  # the other foot cuts in between


def test_pull_leaves_reaching_legs_alone():
    walk = rigid(corpus_walk())[0]
    np.testing.assert_allclose(pull_into_reach(walk), walk, atol=0.005)  # a real walk moves by millimetres


def test_contact_runs_need_two_frames_below_the_height():
    h = np.array([0.1, 0.01, 0.1, 0.02, 0.03, 0.04, 0.2, 0.01, 0.01])
    assert contact_runs(h, 0.05) == [(3, 6), (7, 9)]


def test_lock_offsets_hold_the_toe_and_fade_out():
    T = 40
    toe = np.stack([np.linspace(0.0, 0.4, T), np.zeros(T)], axis=-1)  # a toe sliding 1 cm per frame
    off = lock_offsets(toe, [(10, 20)], blend=4)
    held = toe + off
    np.testing.assert_allclose(held[10:20], np.broadcast_to(toe[10:20].mean(axis=0), (10, 2)), atol=1e-12)
    assert np.all(off[:6] == 0) and np.all(off[24:] == 0)
    assert np.all(np.linalg.norm(np.diff(off, axis=0), axis=-1) < 0.03)  # faded, not popped


def test_two_bone_ik_keeps_lengths_and_reaches():
    rng = np.random.default_rng(0)
    hip = rng.normal(size=(50, 3))
    knee0 = hip + rng.normal(size=(50, 3))
    target = hip + rng.normal(size=(50, 3)) * 0.3
    knee, ankle = two_bone_ik(hip, knee0, target, 0.4, 0.35)
    np.testing.assert_allclose(np.linalg.norm(knee - hip, axis=-1), 0.4, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(ankle - knee, axis=-1), 0.35, atol=1e-9)
    reachable = (np.linalg.norm(target - hip, axis=-1) < 0.75) & (np.linalg.norm(target - hip, axis=-1) > 0.05)
    np.testing.assert_allclose(ankle[reachable], target[reachable], atol=1e-6)
    far = hip + np.array([[2.0, 0.0, 0.0]] * 50)  # out of reach: the leg points at it, straight
    _, ankle = two_bone_ik(hip, knee0, far, 0.4, 0.35)
    np.testing.assert_allclose((ankle - hip)[:, 0], 0.75, atol=1e-5)


def test_fixture_walk_cleanup_is_rigid():
    joints, _, _ = clean_joints(walk_clip(60))
    assert bone_length_error(joints) < 1e-6
