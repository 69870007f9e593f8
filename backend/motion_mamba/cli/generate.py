"""`motion-mamba generate "prompt"`: text to motion with the shipped model (or --model PATH), fully offline.

    motion-mamba generate "a person walks forward and waves"                # -> motion.npz
    motion-mamba generate "a person jumps" --seconds 3 --seed 7 --samples 2 -o jump.bvh   # jump_0.bvh, jump_1.bvh
    motion-mamba generate "a person jumps" --preset test -o x.npz           # randomly initialised model (smoke test)
    motion-mamba generate --segment "a person walks=4" --segment "a person sits down=3"   # one 7 s timeline

.npz files hold joints (T, 22, 3) in metres, Y up, facing +Z at frame 0, plus fps, rotations, root_translation,
text and seed (docs/motion-format.md); .bvh files are written by `motion_mamba.bvh`.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

from . import CLIError

DEFAULT_SECONDS = 4.0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("generate", help="generate motion from a text prompt (.npz or .bvh)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_prompt_arguments(p)
    p.add_argument("--seed", type=int, default=0, help="seed of the first sample; sample k uses seed + k")
    p.add_argument("--samples", type=int, default=1, help="number of motions (NAME_k.EXT when > 1)")
    p.add_argument("-o", "--output", type=Path, default=Path("motion.npz"), help=".npz or .bvh (default motion.npz)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--model", type=Path, help="model bundle or training run directory (default: the shipped model)")
    src.add_argument("--preset", help="use a randomly initialised model of this preset instead (e.g. test)")
    p.add_argument("--guidance", type=float, help="classifier-free guidance scale (default: the model's)")
    p.add_argument("--steps", type=int, help="sampling steps (default: the model's)")
    p.add_argument("--solver", choices=("dpm++", "ddim"), default="dpm++")
    p.add_argument("--device", default="cpu")
    p.add_argument("--raw", action="store_true", help="the model's raw joint positions, without the clean-up "
                   "(smoothing, rigid skeleton, floor, planted feet held still) applied by default")
    p.add_argument("--one-pass", action="store_true", help="generate a prompt of sequenced actions (\"..., then "
                   "...\") in one pass, not as a timeline of its parts (the default)")
    p.set_defaults(func=run)


def add_prompt_arguments(p: argparse.ArgumentParser) -> None:
    """PROMPT and --seconds, or a timeline of --segment options (shared with `motion-mamba client generate`)."""
    p.add_argument("prompt", nargs="?", help="what the motion shows (or give --segment options instead)")
    p.add_argument("--seconds", type=float, help=f"length of PROMPT's clip (default {DEFAULT_SECONDS:g}; at most 9.8)")
    p.add_argument("--segment", action="append", metavar="PROMPT=SECONDS",
                   help="one part of a timeline, instead of PROMPT; repeat in order: the parts are generated and "
                        "stitched into one motion as long as their sum (each 1 to 9.8 s)")


def parse_segment(text: str) -> tuple[str, float]:
    """'a person walks=3' -> ('a person walks', 3.0); the last '=' splits, so prompts may contain one."""
    prompt, sep, seconds = text.rpartition("=")
    if not sep:
        raise CLIError(f"--segment {text!r}: expected PROMPT=SECONDS, e.g. --segment \"a person walks=3\"")
    if not prompt.strip():
        raise CLIError(f"--segment {text!r}: the prompt before '=' is empty")
    try:
        value = float(seconds)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise CLIError(f"--segment {text!r}: SECONDS after the last '=' must be a number, got {seconds!r}")
    return prompt.strip(), value


def read_segments(args: argparse.Namespace) -> list[tuple[str, float]]:
    """The --segment timeline as (prompt, seconds) pairs, or [] for a single PROMPT (whose --seconds default is then
    filled in); exactly one of the two is given."""
    if not args.segment:
        if args.prompt is None:
            raise CLIError("give a PROMPT, or a timeline as --segment PROMPT=SECONDS options")
        if args.seconds is None:
            args.seconds = DEFAULT_SECONDS
        return []
    if args.prompt is not None:
        raise CLIError(f"give either a PROMPT or --segment options, not both (PROMPT is {args.prompt!r})")
    if args.seconds is not None:
        raise CLIError("--seconds is the length of a single PROMPT; a timeline lasts as long as its segments")
    return [parse_segment(s) for s in args.segment]


def resolve_model_dir(path: Path) -> Path:
    """A bundle directory, or a training run whose final bundle is RUN/model."""
    if (path / "config.json").is_file():
        return path
    if (path / "model" / "config.json").is_file():
        return path / "model"
    raise FileNotFoundError(f"{path}: neither a model bundle (config.json + model.safetensors) nor a training run "
                            "with a finished model (RUN/model)")


def output_paths(output: Path, samples: int) -> list[Path]:
    if output.suffix.lower() not in (".npz", ".bvh"):
        raise CLIError(f"{output}: the output must end in .npz or .bvh")
    if samples == 1:
        return [output]
    return [output.with_name(f"{output.stem}_{k}{output.suffix}") for k in range(samples)]


def run(args: argparse.Namespace) -> int:
    from ..bvh import write_bvh
    from ..motion_io import save_motion
    from ..pipeline import MotionPipeline
    from ..timeline import generate_timeline

    segments = read_segments(args)
    if args.samples < 1:
        raise CLIError(f"--samples must be >= 1, got {args.samples}")
    paths = output_paths(args.output, args.samples)
    if not args.output.parent.is_dir():
        raise CLIError(f"{args.output.parent}: output folder does not exist")
    if args.preset:
        pipe = MotionPipeline.from_preset(args.preset, device=args.device)
    else:
        pipe = MotionPipeline.from_pretrained(resolve_model_dir(args.model) if args.model else None, args.device)
    t0 = time.perf_counter()
    seeds = [args.seed + k for k in range(args.samples)]
    options = dict(guidance=args.guidance, steps=args.steps, solver=args.solver, cleanup=not args.raw,
                   split=not args.one_pass)
    if segments:
        motions = generate_timeline(pipe, segments, seeds, **options)
    else:
        motions = pipe([args.prompt] * args.samples, [args.seconds] * args.samples, seeds, **options)
    seconds = time.perf_counter() - t0
    for path, motion in zip(paths, motions):
        if path.suffix.lower() == ".bvh":
            write_bvh(path, motion)
        else:
            save_motion(path, motion)
    print(json.dumps({"model": pipe.info["name"], "prompt": motions[0].text, "frames": motions[0].num_frames,
                      "fps": motions[0].fps, "seeds": seeds, "outputs": [str(p) for p in paths],
                      "seconds": round(seconds, 3)}))
    return 0
