"""`motion-mamba model-info PRESET`: architecture summary of a preset as JSON (parameter counts, HTM scans)."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..model.presets import PRESET_NAMES

    p = subparsers.add_parser("model-info", help="print a preset's parameter counts and HTM scan layout as JSON")
    p.add_argument("preset", choices=PRESET_NAMES)
    p.add_argument("--arch", choices=("mamba", "transformer"), default="mamba",
                   help="transformer: the MLD-style baseline with the same parameter budget")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..model.presets import describe, get_preset

    print(json.dumps(describe(get_preset(args.preset, arch=args.arch)), indent=2))
    return 0
