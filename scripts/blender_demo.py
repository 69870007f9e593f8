"""The Blender half of the demo: import the demo's BVH with Blender's own importer (headless `bpy`), check that
every joint lands where the motion has it, and save a .blend next to it.

    python scripts/blender_demo.py out/demo
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np


def main(out: Path) -> int:
    # importing bpy writes into the user's Blender config unless told otherwise
    os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="mm-blender-user-"))
    import bpy

    from motion_mamba.bvh import SMPL22_BVH_NAMES
    from motion_mamba.motion_io import load_motion

    motion = load_motion(out / "motion.npz")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    if bpy.ops.import_anim.bvh(filepath=str(out / "motion.bvh"), frame_start=1) != {"FINISHED"}:
        print("Blender's BVH importer failed", file=sys.stderr)
        return 1
    arm = next(o for o in bpy.context.scene.objects if o.type == "ARMATURE")
    bones = [arm.pose.bones[name] for name in SMPL22_BVH_NAMES]
    err = 0.0
    for t in range(motion.num_frames):
        bpy.context.scene.frame_set(1 + t)
        heads = np.array([tuple(arm.matrix_world @ b.head) for b in bones])
        y_up = np.stack([heads[:, 0], heads[:, 2], -heads[:, 1]], axis=-1)  # Blender Z up -> motion Y up
        err = max(err, float(np.abs(y_up - motion.joints[t]).max()))
    blend = out / "motion.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend.resolve()))
    print(f"Blender imported {arm.name!r}: {len(bones)} bones, {motion.num_frames} frames, "
          f"max joint deviation {err * 1000:.3f} mm; saved {blend}")
    return 0 if err < 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "out/demo")))
