"""`motion-mamba convert IN OUT`: motion files between .bvh and .npz (either way, or resampling within one).

    motion-mamba convert walk.bvh walk.npz --fps 20                   # any BVH rig -> SMPL-22 joints
    motion-mamba convert rig.bvh out.npz --joint-map map.json         # {"bvh_name": "smpl_name"}
    motion-mamba convert take.npz take.bvh --channels xyz --units cm
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import CLIError

_KINDS = (".bvh", ".npz")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("convert", help="convert motion between .bvh and .npz (resampling with --fps)",
                              description=__doc__.split("\n")[0])
    p.add_argument("input", type=Path, metavar="IN", help=".bvh or .npz")
    p.add_argument("output", type=Path, metavar="OUT", help=".bvh or .npz (written atomically)")
    p.add_argument("--fps", type=float, help="resample to this frame rate (default: keep the input's)")
    p.add_argument("--joint-map", type=Path, metavar="FILE",
                   help='JSON {"bvh_name": "smpl_name"} for BVH joints the built-in names do not cover')
    p.add_argument("--channels", choices=("zyx", "xyz"), default="zyx", help="BVH output rotation order")
    p.add_argument("--units", choices=("m", "cm"), default="m", help="BVH output units")
    p.add_argument("--in-units", default="auto", help="BVH input units: auto, m, cm, mm, inch or units per metre")
    p.add_argument("--up", choices=("y", "z"), default="y", help="BVH input up axis (z: exported by Blender)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..bvh import read_bvh, write_bvh
    from ..kinematics import resample_joints
    from ..motion_io import load_motion, save_motion

    src, dst = args.input.suffix.lower(), args.output.suffix.lower()
    for path, kind in ((args.input, src), (args.output, dst)):
        if kind not in _KINDS:
            raise CLIError(f"{path}: unsupported file type {kind or '(none)'}; use .bvh or .npz")
    if args.fps is not None and not args.fps > 0:
        raise CLIError(f"--fps must be positive, got {args.fps}")
    if args.joint_map is not None and src != ".bvh":
        raise CLIError("--joint-map applies to BVH input only")

    if src == ".bvh":
        motion = read_bvh(args.input, fps=args.fps, joint_map=_read_joint_map(args.joint_map),
                          units=_units(args.in_units), up=args.up)
    else:
        motion = load_motion(args.input)
        if args.fps is not None and abs(args.fps - motion.fps) > 1e-9:
            motion.joints = resample_joints(motion.joints, motion.fps, args.fps, motion.skel)
            motion.fps, motion.rotations, motion.root_translation = args.fps, None, None

    note = ""
    if dst == ".bvh":
        error = write_bvh(args.output, motion, channels=args.channels, units=args.units)
        note = f", IK fit error {error * 1000:.3f} mm"
    else:
        save_motion(args.output, motion)
    print(f"wrote {args.output}: {motion.num_frames} frames at {motion.fps:g} fps{note}")
    return 0


def _units(text: str) -> str | float:
    try:
        return float(text)
    except ValueError:
        return text


def _read_joint_map(path: Path | None) -> dict[str, str] | None:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CLIError(f"{path}: joint map file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CLIError(f"{path}: joint map is not valid JSON ({e})") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise CLIError(f'{path}: joint map must be a JSON object {{"bvh_name": "smpl_name", ...}}')
    return data
