"""`motion-mamba demo`: the end-to-end run of what exists today.

Text → motion with the shipped model when one is installed; without it, a clip of the procedural corpus (the
shipped model's training data) with its caption. The motion is written as .npz and .bvh (and a stick-figure GIF),
and `scripts/blender_demo.py` then imports the BVH with Blender's own importer and saves a .blend.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

DEMO_PROMPT = "a person walks forward, then turns left and waves"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("demo", help="end-to-end demo: prompt -> motion -> .npz/.bvh/.gif",
                              description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder (default out/demo)")
    p.add_argument("--prompt", default=DEMO_PROMPT)
    p.add_argument("--seconds", type=float, default=6.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-render", action="store_true", help="skip the GIF")
    p.set_defaults(func=run)


def _shipped_motion(prompt: str, seconds: float, seed: int):
    from ..pipeline import MotionPipeline

    try:
        pipe = MotionPipeline.from_pretrained()
    except FileNotFoundError:
        return None
    [motion] = pipe([prompt], seconds=[seconds], seeds=[seed])
    return motion


def _procedural_motion(seed: int):
    """The demo's fallback: the same action sequence as the prompt, made by the procedural corpus generator."""
    import numpy as np

    from ..data.synth.compose import synthesize
    from ..data.synth.corpus import _captions
    from ..features import canonicalize
    from ..kinematics import joints_to_rotations
    from ..motion import Motion

    rng = np.random.default_rng(seed)
    actions, joints = synthesize(["walk", "turn", "wave"], rng)
    joints = canonicalize(joints).astype(np.float32)
    captions, _ = _captions(actions, "train", rng)
    root, rot = joints_to_rotations(joints)
    return Motion(joints=joints, fps=20.0, rotations=rot.astype(np.float32), root_translation=root.astype(np.float32),
                  text=captions[0], seed=seed, model="procedural corpus")


def run(args: argparse.Namespace) -> int:
    from ..bvh import write_bvh
    from ..motion_io import save_motion

    motion = _shipped_motion(args.prompt, args.seconds, args.seed)
    if motion is None:
        print("no shipped model installed yet: using a clip of the procedural training corpus")
        motion = _procedural_motion(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    npz = save_motion(args.out / "motion.npz", motion)
    bvh = args.out / "motion.bvh"
    write_bvh(bvh, motion)
    written = {"text": motion.text, "model": motion.model, "frames": motion.num_frames, "fps": motion.fps,
               "npz": str(npz), "bvh": str(bvh)}
    if not args.no_render:
        from ..render import render_animation

        written["gif"] = str(render_animation(motion.joints, motion.fps, args.out / "motion.gif", motion.text))
    print(json.dumps(written, indent=2))
    return 0
