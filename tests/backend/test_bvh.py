import numpy as np
import pytest

from motion_fixtures import random_pose_clip, turning_clip
from motion_mamba.bvh import SMPL22_BVH_NAMES, parse_bvh, read_bvh, write_bvh
from motion_mamba.kinematics import forward_kinematics
from motion_mamba.motion import Motion
from motion_mamba.skeleton import KIT21, SMPL22


def _rigid_odd_skeleton(T: int = 40, seed: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    _, root, rot = random_pose_clip(T, seed=seed, with_rotations=True)
    offsets = SMPL22.offsets * rng.uniform(0.7, 1.3, size=(22, 1)) + rng.normal(0, 0.03, size=(22, 3))
    offsets[0] = 0
    return forward_kinematics(root, rot, offsets)


@pytest.mark.parametrize("channels", ["zyx", "xyz"])
@pytest.mark.parametrize("units", ["m", "cm"])
def test_write_read_round_trip_any_rigid_skeleton(tmp_path, channels, units):
    joints = _rigid_odd_skeleton()
    path = tmp_path / "clip.bvh"
    error = write_bvh(path, Motion(joints=joints, fps=20.0), channels=channels, units=units)
    assert error < 1e-9
    back = read_bvh(path)
    assert back.fps == pytest.approx(20.0) and back.skeleton == "smpl22"
    assert np.abs(back.joints - joints).max() < 1e-5


def test_written_file_layout(tmp_path):
    joints = turning_clip(30)
    write_bvh(tmp_path / "m.bvh", Motion(joints=joints, fps=20.0), channels="zyx", units="m")
    write_bvh(tmp_path / "cm.bvh", Motion(joints=joints, fps=20.0), channels="xyz", units="cm")
    text = (tmp_path / "m.bvh").read_text()
    assert text.startswith("HIERARCHY\nROOT Hips\n")
    assert "CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation" in text
    assert "Frames: 30\nFrame Time: 0.05000000\n" in text
    assert text.count("End Site") == 5  # toes, head, hands
    m, cm = parse_bvh(text), parse_bvh((tmp_path / "cm.bvh").read_text())
    assert m.names == list(SMPL22_BVH_NAMES[i] for i in _dfs_order())
    assert cm.joints[1].channels == ("Xrotation", "Yrotation", "Zrotation")
    np.testing.assert_allclose(cm.joints[1].offset, 100 * m.joints[1].offset, atol=1e-4)


def _dfs_order() -> list[int]:
    order, stack = [], [0]
    while stack:
        j = stack.pop()
        order.append(j)
        stack.extend(reversed(SMPL22.children[j]))
    return order


def test_kit_motion_writes_with_its_own_names(tmp_path):
    joints = random_pose_clip(10, seed=1, skeleton=KIT21)
    write_bvh(tmp_path / "kit.bvh", Motion(joints=joints, fps=12.5, skeleton="kit21"))
    clip = parse_bvh((tmp_path / "kit.bvh").read_text())
    assert clip.names[0] == "root" and set(clip.names) == set(KIT21.names)
    positions = clip.positions()[:, [clip.names.index(n) for n in KIT21.names]]
    assert np.abs(positions - joints).max() < 1e-5


def test_channel_order_composes_first_listed_outermost():
    text = """HIERARCHY
ROOT A
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT B
  {
    OFFSET 0 1 0
    CHANNELS 3 Xrotation Zrotation Yrotation
    End Site
    {
      OFFSET 0 1 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.1
1 2 3 90 90 0 0 0 0
0 0 0 0 90 0 0 0 0
"""
    pos = parse_bvh(text).positions()
    # frame 0: R = Rz(90) Rx(90); Rx(90) turns +Y to +Z, which Rz leaves alone
    np.testing.assert_allclose(pos[0], [[1, 2, 3], [1, 2, 4]], atol=1e-12)
    # frame 1: Rx(90) alone
    np.testing.assert_allclose(pos[1, 1], [0, 0, 1], atol=1e-12)


def _mixamo_like_bvh(prefix: str = "mixamorig:", scale: float = 100.0, frames: int = 3) -> tuple[str, np.ndarray]:
    """A rig with a root above the hips, four spine joints, fingers and end sites, in centimetres, at rest with
    a moving root; returns the text and the expected SMPL-22 joints in metres."""
    L = [
        ("Root", None, (0, 0, 0)), ("Hips", "Root", (0, 0.95, 0)),
        ("Spine", "Hips", (0, 0.10, 0)), ("Spine1", "Spine", (0, 0.10, 0)), ("Spine2", "Spine1", (0, 0.10, 0)),
        ("Spine3", "Spine2", (0, 0.10, 0)), ("Neck", "Spine3", (0, 0.15, 0)), ("Head", "Neck", (0, 0.10, 0.02)),
    ]
    for side, sx in (("Left", 1), ("Right", -1)):
        L += [
            (f"{side}Shoulder", "Spine3", (sx * 0.05, 0.10, 0)), (f"{side}Arm", f"{side}Shoulder", (sx * 0.12, 0, 0)),
            (f"{side}ForeArm", f"{side}Arm", (sx * 0.27, 0, 0)), (f"{side}Hand", f"{side}ForeArm", (sx * 0.25, 0, 0)),
            (f"{side}HandIndex1", f"{side}Hand", (sx * 0.08, 0, 0.02)),
            (f"{side}HandIndex2", f"{side}HandIndex1", (sx * 0.03, 0, 0)),
            (f"{side}UpLeg", "Hips", (sx * 0.09, -0.05, 0)), (f"{side}Leg", f"{side}UpLeg", (0, -0.42, 0)),
            (f"{side}Foot", f"{side}Leg", (0, -0.41, -0.02)), (f"{side}ToeBase", f"{side}Foot", (0, -0.05, 0.13)),
        ]
    names = [n for n, _, _ in L]
    children = {n: [c for c, p, _ in L if p == n] for n in names}
    lines = ["HIERARCHY"]

    def emit(name: str, depth: int) -> None:
        pad = "\t" * depth
        off = next(o for n, _, o in L if n == name)
        lines.append(f"{pad}{'ROOT' if depth == 0 else 'JOINT'} {prefix}{name}")
        lines.append(f"{pad}{{")
        lines.append(f"{pad}\tOFFSET " + " ".join(f"{scale * v:.4f}" for v in off))
        lines.append(f"{pad}\tCHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation"
                     if depth == 0 else f"{pad}\tCHANNELS 3 Zrotation Xrotation Yrotation")
        for c in children[name]:
            emit(c, depth + 1)
        if not children[name]:
            lines.extend([f"{pad}\tEnd Site", f"{pad}\t{{", f"{pad}\t\tOFFSET 0 {scale * 0.02:.4f} 0", f"{pad}\t}}"])
        lines.append(f"{pad}}}")

    emit("Root", 0)
    n_channels = 6 + 3 * (len(names) - 1)
    root_path = np.array([[0.3 * t, 0.0, -0.2 * t] for t in range(frames)])
    lines += ["MOTION", f"Frames: {frames}", "Frame Time: 0.0333333"]
    for t in range(frames):
        lines.append(" ".join(f"{v:.4f}" for v in [*(scale * root_path[t]), *([0.0] * (n_channels - 3))]))
    rest = {}
    for n, p, o in L:
        rest[n] = (rest[p] if p else np.zeros(3)) + np.array(o, float)
    smpl_from = ["Hips", "LeftUpLeg", "RightUpLeg", "Spine", "LeftLeg", "RightLeg", "Spine1", "LeftFoot",
                 "RightFoot", "Spine3", "LeftToeBase", "RightToeBase", "Neck", "LeftShoulder", "RightShoulder", "Head",
                 "LeftArm", "RightArm", "LeftForeArm", "RightForeArm", "LeftHand", "RightHand"]
    expected = np.array([[rest[n] for n in smpl_from]]) + root_path[:, None]
    return "\n".join(lines) + "\n", expected


@pytest.mark.parametrize("prefix", ["mixamorig:", ""])
def test_reads_mixamo_like_rig_with_extra_joints(tmp_path, prefix):
    text, expected = _mixamo_like_bvh(prefix)
    path = tmp_path / "mixamo.bvh"
    path.write_text(text)
    motion = read_bvh(path)  # centimetres detected from the skeleton's size
    assert motion.joints.shape == (3, 22, 3) and motion.fps == pytest.approx(30.0, rel=1e-4)
    np.testing.assert_allclose(motion.joints, expected, atol=1e-6)


def test_explicit_joint_map_and_missing_joint_error(tmp_path):
    joints = turning_clip(12)
    path = tmp_path / "a.bvh"
    write_bvh(path, Motion(joints=joints, fps=20.0))
    renamed = path.read_text()
    for i, name in enumerate(SMPL22_BVH_NAMES):
        renamed = renamed.replace(f" {name}\n", f" bone{i:02d}\n")
    odd = tmp_path / "odd.bvh"
    odd.write_text(renamed)
    with pytest.raises(ValueError, match=r"odd\.bvh: cannot map .* missing pelvis, left_hip.*bone00"):
        read_bvh(odd)
    motion = read_bvh(odd, joint_map={f"bone{i:02d}": n for i, n in enumerate(SMPL22.names)})
    assert np.abs(motion.joints - joints).max() < 1e-5
    with pytest.raises(ValueError, match="unknown SMPL joint 'elbow'"):
        read_bvh(odd, joint_map={"bone00": "elbow"})
    with pytest.raises(ValueError, match="'nope', which the file does not have"):
        read_bvh(odd, joint_map={"nope": "pelvis"})


def test_resampling_keeps_bones_rigid(tmp_path):
    joints = _rigid_odd_skeleton(T=21)
    path = tmp_path / "a.bvh"
    write_bvh(path, Motion(joints=joints, fps=20.0))
    up = read_bvh(path, fps=40.0)
    assert up.fps == 40.0 and len(up.joints) == 41
    np.testing.assert_allclose(up.joints[::2], joints, atol=1e-5)
    bones = lambda j: np.linalg.norm(j[:, 1:] - j[:, list(SMPL22.parents[1:])], axis=-1)  # noqa: E731
    np.testing.assert_allclose(bones(up.joints), np.broadcast_to(bones(joints)[:1], (41, 21)), atol=1e-5)
    down = read_bvh(path, fps=10.0)
    assert len(down.joints) == 11
    np.testing.assert_allclose(down.joints, joints[::2], atol=1e-5)


@pytest.mark.parametrize(
    "mangle, match",
    [
        (lambda t: t[: len(t) - 200], "truncated"),
        (lambda t: t.replace("HIERARCHY", "HELLO"), "not a BVH file"),
        (lambda t: t.replace("CHANNELS 3 Zrotation", "CHANNELS 3 Wrotation", 1), "unknown channels"),
        (lambda t: t.replace("Frame Time: 0.05000000", "Frame Time: 0"), "positive frame time"),
        (lambda t: t[: t.index("MOTION")], "ends early"),
        (lambda t: t.replace("Frame Time: 0.05000000\n", "Frame Time: 0.05000000\nx "), "not a number"),
    ],
)
def test_bad_files_raise_one_clear_error(tmp_path, mangle, match):
    path = tmp_path / "good.bvh"
    write_bvh(path, Motion(joints=turning_clip(5), fps=20.0))
    bad = tmp_path / "bad.bvh"
    bad.write_text(mangle(path.read_text()))
    with pytest.raises(ValueError, match=match) as info:
        read_bvh(bad)
    assert "bad.bvh" in str(info.value)


def test_writer_rejects_bad_motion_and_leaves_no_file(tmp_path):
    joints = turning_clip(5)
    joints[2, 4] = joints[2, 1]  # zero-length thigh
    path = tmp_path / "out.bvh"
    with pytest.raises(ValueError, match="zero-length bone"):
        write_bvh(path, Motion(joints=joints, fps=20.0))
    with pytest.raises(ValueError, match="channels"):
        write_bvh(path, Motion(joints=turning_clip(5), fps=20.0), channels="yxz")
    assert list(tmp_path.iterdir()) == []
