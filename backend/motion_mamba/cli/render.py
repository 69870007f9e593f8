"""`motion-mamba render CLIP -o OUT.gif|OUT.mp4`: stick-figure animation (front, side, top) of a clip.

CLIP is a motion .npz, a (T, 22, 3) joints .npy, or a dataset clip (`DATASET/new_joints/ID.npy` or
`DATASET/new_joint_vecs/ID.npy`); `--sheet` writes a still contact-sheet PNG instead.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("render", help="animate a clip as a stick figure (.gif, or .mp4 with ffmpeg)",
                              description=__doc__.split("\n")[0])
    p.add_argument("clip", type=Path, help=".npz motion or dataset .npy clip")
    p.add_argument("-o", "--output", type=Path, required=True, help="OUT.gif, OUT.mp4 or (with --sheet) OUT.png")
    p.add_argument("--dataset", type=Path, help="dataset root for the caption (default: inferred from the path)")
    p.add_argument("--title", help="title text (default: the clip's caption)")
    p.add_argument("--sheet", action="store_true", help="write a contact-sheet PNG instead of an animation")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..render import contact_sheet, load_clip, render_animation

    joints, fps, text, skel = load_clip(args.clip, args.dataset)
    title = args.title if args.title is not None else text
    if args.sheet:
        if args.output.suffix.lower() != ".png":
            raise ValueError(f"{args.output}: --sheet writes a .png")
        out = contact_sheet(joints, args.output, title, skeleton=skel, fps=fps)
    else:
        out = render_animation(joints, fps, args.output, title, skeleton=skel)
    print(f"wrote {out}: {len(joints)} frames at {fps:g} fps")
    return 0
