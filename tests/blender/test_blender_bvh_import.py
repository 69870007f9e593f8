"""Our BVH read back by Blender's own importer (`io_anim_bvh`) lands every joint where the motion has it."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))  # motion_fixtures

bpy = pytest.importorskip("bpy")

from motion_fixtures import random_pose_clip, sideways_walk, turning_clip  # noqa: E402
from motion_mamba.bvh import SMPL22_BVH_NAMES, read_bvh, write_bvh  # noqa: E402
from motion_mamba.kinematics import forward_kinematics  # noqa: E402
from motion_mamba.motion import Motion  # noqa: E402
from motion_mamba.skeleton import SMPL22  # noqa: E402

pytestmark = pytest.mark.blender


def _odd_skeleton_clip(T: int) -> np.ndarray:
    """Random poses on a rigid skeleton with other bone lengths and a differently shaped girdle and pelvis."""
    rng = np.random.default_rng(5)
    _, root, rot = random_pose_clip(T, seed=11, with_rotations=True)
    offsets = SMPL22.offsets * rng.uniform(0.8, 1.25, size=(22, 1)) + rng.normal(0, 0.02, size=(22, 3))
    offsets[0] = 0
    return forward_kinematics(root, rot, offsets)


def _blender_joints(path: Path, global_scale: float, frames: int) -> np.ndarray:
    """Import with Blender's defaults (Y up, -Z forward -> Blender Z up) and read pose-bone heads per frame,
    converted back to Y up: Blender (x, y, z) = BVH (x, -z, y)."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    result = bpy.ops.import_anim.bvh(filepath=str(path), global_scale=global_scale, frame_start=1)
    assert result == {"FINISHED"}
    armature = next(o for o in bpy.context.scene.objects if o.type == "ARMATURE")
    bones = [armature.pose.bones[name] for name in SMPL22_BVH_NAMES]
    out = np.empty((frames, 22, 3))
    for t in range(frames):
        bpy.context.scene.frame_set(1 + t)
        heads = np.array([tuple(armature.matrix_world @ b.head) for b in bones])
        out[t] = np.stack([heads[:, 0], heads[:, 2], -heads[:, 1]], axis=-1)
    return out


@pytest.mark.parametrize(
    "clip, channels, units",
    [
        ("turn_720", "zyx", "m"),
        ("sideways", "xyz", "cm"),
        ("odd_skeleton", "zyx", "cm"),
        ("odd_skeleton", "xyz", "m"),
    ],
)
def test_blender_import_matches_joints_on_every_frame(tmp_path, clip, channels, units):
    T = 48
    joints = {"turn_720": lambda: turning_clip(T, turns=2.0), "sideways": lambda: sideways_walk(T),
              "odd_skeleton": lambda: _odd_skeleton_clip(T)}[clip]()
    path = tmp_path / f"{clip}.bvh"
    write_bvh(path, Motion(joints=joints, fps=20.0), channels=channels, units=units)
    imported = _blender_joints(path, global_scale=0.01 if units == "cm" else 1.0, frames=T)
    err = np.linalg.norm(imported - joints, axis=-1)
    assert err.max() < 1e-3, f"max {err.max() * 1000:.3f} mm at frame {err.max(1).argmax()}"


def test_our_reader_reads_blenders_own_export(tmp_path):
    """The other direction: Blender's exporter writes the armature (Z up, its own channel orders and offsets);
    reading that file gives back the joints."""
    T = 30
    joints = _odd_skeleton_clip(T)
    ours = tmp_path / "ours.bvh"
    write_bvh(ours, Motion(joints=joints, fps=20.0), units="cm")
    _blender_joints(ours, global_scale=0.01, frames=1)
    theirs = tmp_path / "blender.bvh"
    result = bpy.ops.export_anim.bvh(filepath=str(theirs), frame_start=1, frame_end=T, rotate_mode="XZY")
    assert result == {"FINISHED"}
    motion = read_bvh(theirs, up="z", units="m")
    assert motion.joints.shape == (T, 22, 3)
    err = np.linalg.norm(motion.joints - joints, axis=-1)
    assert err.max() < 1e-3, f"max {err.max() * 1000:.3f} mm at frame {err.max(1).argmax()}"
