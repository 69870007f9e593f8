"""`motion-mamba data ...`: build, inspect and import training data in the HumanML3D layout.

    motion-mamba data synth --clips 10000 --out data/synth [--seed 0] [--workers 2]
    motion-mamba data sheet --out sheets/ [--gif]          # one contact sheet per action family
    motion-mamba data check data/synth [--clips 500]      # physical plausibility numbers of a dataset
    motion-mamba data import-bvh mocap/ --out data/studio [--joint-map map.json] [--mean-std-from data/synth]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import CLIError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("data", help="procedural corpus, dataset checks, BVH import (HumanML3D layout)",
                              description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    s = sub.add_parser("synth", help="generate the procedural captioned motion corpus")
    s.add_argument("--clips", type=int, required=True, help="number of clips")
    s.add_argument("--out", type=Path, required=True, help="dataset folder to create")
    s.add_argument("--seed", type=int, default=0, help="corpus seed (clip i is the same for any worker count)")
    s.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    s.add_argument("--overwrite", action="store_true", help="replace an existing non-empty --out")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=_synth)

    s = sub.add_parser("sheet", help="contact sheet PNG (and optionally a GIF) per action family")
    s.add_argument("--out", type=Path, required=True, help="folder for <family>.png")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--families", help="comma-separated subset (default: all)")
    s.add_argument("--gif", action="store_true", help="also write <family>.gif animations")
    s.set_defaults(func=_sheet)

    s = sub.add_parser("check", help="foot skating, penetration, bone length and jerk over a dataset's new_joints/")
    s.add_argument("dataset", type=Path)
    s.add_argument("--clips", type=int, default=0, help="only the first N clips (default: all)")
    s.add_argument("--fps", type=float, default=20.0)
    s.add_argument("--json", action="store_true", help="print the summary as JSON")
    s.set_defaults(func=_check)

    s = sub.add_parser("import-bvh", help="convert BVH clips + side-car .txt captions into the HumanML3D layout")
    s.add_argument("input", type=Path, metavar="DIR", help="folder of .bvh files, each with NAME.txt captions")
    s.add_argument("--out", type=Path, required=True, help="dataset folder to create")
    s.add_argument("--joint-map", type=Path, metavar="FILE", help='JSON {"bvh_name": "smpl_name"}')
    s.add_argument("--units", default="auto", help="BVH units: auto, m, cm, mm, inch or units per metre")
    s.add_argument("--up", choices=("y", "z"), default="y", help="BVH up axis (z: exported by Blender)")
    s.add_argument("--mean-std-from", type=Path, metavar="DATASET",
                   help="copy Mean.npy/Std.npy of this dataset (fine-tuning must keep the model's normalisation)")
    s.add_argument("--val", type=float, default=0.05, help="fraction of clips for val (by name hash)")
    s.add_argument("--test", type=float, default=0.05, help="fraction of clips for test (by name hash)")
    s.add_argument("--overwrite", action="store_true")
    s.set_defaults(func=_import_bvh)


def _synth(args: argparse.Namespace) -> int:
    from ..data.synth.corpus import generate

    if args.clips < 1:
        raise CLIError(f"--clips must be at least 1, got {args.clips}")
    if args.workers < 1:
        raise CLIError(f"--workers must be at least 1, got {args.workers}")
    summary = generate(args.out, args.clips, seed=args.seed, workers=args.workers, progress=not args.quiet,
                       overwrite=args.overwrite)
    print(json.dumps(summary))
    return 0


def _sheet(args: argparse.Namespace) -> int:
    import numpy as np

    from ..data.synth import captions as cap
    from ..data.synth.actions import FAMILIES
    from ..data.synth.compose import synthesize
    from ..features import canonicalize
    from ..render import contact_sheet, render_animation

    names = sorted(FAMILIES) if not args.families else [n.strip() for n in args.families.split(",")]
    unknown = [n for n in names if n not in FAMILIES]
    if unknown:
        raise CLIError(f"unknown families {unknown}; choose from {', '.join(sorted(FAMILIES))}")
    args.out.mkdir(parents=True, exist_ok=True)
    for k, name in enumerate(names):
        rng = np.random.default_rng([args.seed, k])
        actions, joints = synthesize([name], rng)
        joints = canonicalize(joints)
        a = actions[0]
        text = cap.caption("a person", [cap.verb_phrase(name, 0, a.params, "a person", rng)], [])
        title = f"{name}: {text}  {json.dumps(a.params)}"
        contact_sheet(joints, args.out / f"{name}.png", title, frames=7)
        if args.gif:
            render_animation(joints, 20.0, args.out / f"{name}.gif", title)
        print(f"{args.out / name}.png  {text}")
    return 0


def _check(args: argparse.Namespace) -> int:
    import numpy as np

    from ..metrics_physical import physical_report, summarize

    folder = args.dataset / "new_joints"
    if not folder.is_dir():
        raise CLIError(f"{folder}: folder missing (expected (T, 22, 3) joints per clip)")
    files = sorted(folder.glob("*.npy"))
    if args.clips:
        files = files[: args.clips]
    if not files:
        raise CLIError(f"{folder}: no .npy clips")
    summary = summarize([physical_report(np.load(f), args.fps) for f in files])
    if args.json:
        print(json.dumps(summary))
    else:
        for k, v in summary.items():
            print(f"{k:30s} {v:.4g}" if isinstance(v, float) else f"{k:30s} {v}")
    return 0


def _import_bvh(args: argparse.Namespace) -> int:
    from ..data.bvh_import import import_bvh_folder
    from .convert import _read_joint_map, _units

    summary = import_bvh_folder(args.input, args.out, joint_map=_read_joint_map(args.joint_map),
                                units=_units(args.units), up=args.up, mean_std_from=args.mean_std_from,
                                val=args.val, test=args.test, overwrite=args.overwrite)
    print(json.dumps(summary))
    return 0
