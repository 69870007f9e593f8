"""The Blender half of the demo: import the demo's BVH with Blender's own importer (headless `bpy`), check that
every joint lands where the BVH puts it, and save a .blend next to it.

    python scripts/blender_demo.py out/demo

Two numbers are printed. *Import deviation*: Blender's joint positions against the BVH's own forward kinematics
(our parser, independent of Blender's); the demo fails if it exceeds 1 mm, because then the file or the importer
settings are wrong. *Fit to the generated joints*: how far the BVH's rigid skeleton is from the model's raw joint
positions, which are not constrained to constant bone lengths; it is reported, not checked.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np

TOLERANCE_M = 1e-3


def main(out: Path) -> int:
    # importing bpy writes into the user's Blender config unless told otherwise
    os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="mm-blender-user-"))
    import bpy

    from motion_mamba.bvh import SMPL22_BVH_NAMES, parse_bvh
    from motion_mamba.motion_io import load_motion

    motion = load_motion(out / "motion.npz")
    bvh_path = out / "motion.bvh"
    clip = parse_bvh(bvh_path.read_text(), where=str(bvh_path))
    order = [clip.names.index(name) for name in SMPL22_BVH_NAMES]
    expected = clip.positions()[:, order]  # (T, 22, 3) metres, Y up: what the file encodes
    bpy.ops.wm.read_factory_settings(use_empty=True)
    if bpy.ops.import_anim.bvh(filepath=str(bvh_path), frame_start=1) != {"FINISHED"}:
        print("Blender's BVH importer failed", file=sys.stderr)
        return 1
    arm = next(o for o in bpy.context.scene.objects if o.type == "ARMATURE")
    bones = [arm.pose.bones[name] for name in SMPL22_BVH_NAMES]
    blender = np.empty_like(expected)
    for t in range(len(expected)):
        bpy.context.scene.frame_set(1 + t)
        heads = np.array([tuple(arm.matrix_world @ b.head) for b in bones])
        blender[t] = np.stack([heads[:, 0], heads[:, 2], -heads[:, 1]], axis=-1)  # Blender Z up -> Y up
    deviation = float(np.abs(blender - expected).max())
    fit = np.linalg.norm(expected - motion.joints, axis=-1)
    blend = out / "motion.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend.resolve()))
    print(f"Blender imported {arm.name!r}: {len(bones)} bones, {len(expected)} frames; import deviation "
          f"{deviation * 1000:.3f} mm (limit {TOLERANCE_M * 1000:.0f} mm); rigid fit to the generated joints: "
          f"mean {fit.mean() * 1000:.1f} mm, max {fit.max() * 1000:.1f} mm; saved {blend}")
    return 0 if deviation <= TOLERANCE_M else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "out/demo")))
