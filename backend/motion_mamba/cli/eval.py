"""`motion-mamba eval [RUN_OR_MODEL ...] --data DIR`: the paper's Table 1 on a test split, real data first.

    motion-mamba eval --data DIR                                  # the shipped model
    motion-mamba eval RUN RUN/denoiser-transformer --data DIR --evaluator EVAL/evaluator --repeats 20
    motion-mamba eval RUN --data DIR --with-init                   # adds the same model at initialisation
    motion-mamba eval RUN --data DIR --with-recon                  # adds its VAE's reconstruction of the test clips

Metrics follow the T2M protocol (eval/metrics.py): R-Precision top-1/2/3 in groups of 32, FID, MM-Dist,
Diversity (300 pairs), MultiModality, each repeated --repeats times as mean ± 95% CI, then physical metrics.
The evaluator is ours (`motion-mamba train evaluator`) or the official T2M one converted once with
`motion-mamba convert-t2m-evaluator` and passed as --evaluator (docs/evaluation.md).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import CLIError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("eval", help="evaluate models on a test split (Table 1: real data first)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="*", type=Path, help="model bundles or training runs (default: the shipped model)")
    p.add_argument("--data", required=True, type=Path, help="HumanML3D-layout folder")
    p.add_argument("--split", action="append", help="split(s) to evaluate, one table each (default: test)")
    p.add_argument("--evaluator", type=Path, help="evaluator bundle: ours or a converted official T2M one "
                   "(default: next to the model, or the shipped one)")
    p.add_argument("--repeats", type=int, default=20, help="repetitions for the 95%% CI (T2M: 20)")
    p.add_argument("--mm-samples", type=int, default=100, help="MultiModality texts (T2M: 100; 0 skips)")
    p.add_argument("--mm-repeats", type=int, default=30, help="generations per MultiModality text (T2M: 30)")
    p.add_argument("--with-init", action="store_true", help="also evaluate each model with freshly initialised weights "
                   "(with --with-raw, its raw output too)")
    p.add_argument("--with-raw", action="store_true", help="also evaluate each model's raw output, before the "
                   "pipeline's clean-up (rigid skeleton, foot lock) that every row has by default")
    p.add_argument("--with-one-pass", action="store_true", help="also evaluate each model generating prompts of "
                   "sequenced actions in one pass, not as timelines of their parts (the pipeline's default)")
    p.add_argument("--with-recon", action="store_true", help="also evaluate each model's VAE on the real test "
                   "crops (encode -> decode, raw): the FID floor no denoiser on that VAE goes below")
    p.add_argument("--guidance", type=float, help="guidance scale (default: the model's)")
    p.add_argument("--steps", type=int, help="sampling steps (default: the model's)")
    p.add_argument("--solver", choices=("dpm++", "ddim"), default="dpm++")
    p.add_argument("--max-clips", type=int, default=0, help="evaluate on the first N clips only")
    p.add_argument("--timing-sentences", type=int, default=10, help="batch-1 generations timed per model")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, help="also write all numbers (every repetition) as JSON")
    p.add_argument("--markdown", type=Path, help="also write the tables as Markdown")
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def default_evaluator(model_dirs: list[Path]) -> Path:
    """EVALUATOR next to a run (RUN/evaluator, RUN/../evaluator), else the evaluator shipped with the model."""
    from ..pipeline import DEFAULT_MODEL_DIR

    candidates = []
    for m in model_dirs:
        candidates += [m / "evaluator", m.parent / "evaluator", m.parent.parent / "evaluator"]
    candidates.append(DEFAULT_MODEL_DIR.parent / "evaluator")
    for c in candidates:
        if (c / "config.json").is_file():
            return c
    raise CLIError("no evaluator found next to the model or shipped; train one with `motion-mamba train evaluator "
                   "--data DIR --out EVAL` and pass --evaluator EVAL/evaluator")


def load_methods(paths: list[Path], args: argparse.Namespace):
    """(BundleGenerator per model [+ its raw output, one-pass output, VAE reconstruction, initialisation (+ raw)],
    model directories)."""
    import torch

    from ..eval.runner import BundleGenerator, Reconstruction, SampleCache
    from ..model.motion_model import MotionModel
    from ..model.text import build_text_encoder
    from ..pipeline import DEFAULT_MODEL_DIR, MotionPipeline
    from .generate import resolve_model_dir

    dirs = [resolve_model_dir(p) for p in paths] if paths else [DEFAULT_MODEL_DIR]
    methods, names = [], set()
    for d in dirs:
        pipe = MotionPipeline.from_pretrained(d, args.device)
        name = pipe.info["name"]
        if name in names:
            name = f"{name} ({d})"
        names.add(name)
        kw = dict(guidance=args.guidance, steps=args.steps, solver=args.solver, samples=SampleCache())  # raw: free
        methods.append(BundleGenerator(pipe, name, **kw))
        if getattr(args, "with_raw", False):
            methods.append(BundleGenerator(pipe, f"{name} (raw)", cleanup=False, **kw))
        if getattr(args, "with_one_pass", False):
            methods.append(BundleGenerator(pipe, f"{name} (one pass)", split=False, **kw))
        if getattr(args, "with_recon", False):
            methods.append(Reconstruction(pipe, f"{name} VAE reconstruction (raw)"))
        if args.with_init:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                init = MotionModel(pipe.config)
            init.set_statistics(**pipe.model.statistics())  # statistics are data, not trained weights
            init_pipe = MotionPipeline(init, build_text_encoder(pipe.config.text, args.device), "init", args.device)
            kw["samples"] = SampleCache()
            methods.append(BundleGenerator(init_pipe, f"{name} @ init", **kw))
            if getattr(args, "with_raw", False):
                methods.append(BundleGenerator(init_pipe, f"{name} @ init (raw)", cleanup=False, **kw))
    return methods, dirs


def run(args: argparse.Namespace) -> int:
    from ..eval.runner import EvalSettings, evaluate
    from ..eval.t2m_official import load_evaluator
    from ..eval.table import markdown_table, physical_table, results_json
    from ..train.data import load_split

    if args.repeats < 1:
        raise CLIError(f"--repeats must be >= 1, got {args.repeats}")
    methods, dirs = load_methods(args.models, args)
    evaluator = load_evaluator(args.evaluator or default_evaluator(dirs), args.device)
    skeleton = methods[0].pipe.config.skeleton
    settings = EvalSettings(repeats=args.repeats, mm_samples=args.mm_samples, mm_repeats=args.mm_repeats,
                            max_frames=methods[0].pipe.max_frames, seed=args.seed,
                            timing_sentences=args.timing_sentences, skeleton=skeleton, fps=methods[0].pipe.fps)
    report, doc = [], {"data": str(args.data.resolve()), "evaluator": evaluator.name, "settings": vars(settings),
                       "splits": {}}
    for split in args.split or ["test"]:
        clips = load_split(args.data, split, skeleton, args.max_clips).clips
        results = evaluate(evaluator, clips, methods, settings, progress=not args.no_progress)
        report += [f"### {split} split ({len(clips)} clips, {settings.repeats} repetitions, evaluator "
                   f"{evaluator.name})", "", markdown_table(results, ["s/sentence"]), "",
                   physical_table(results), ""]
        doc["splits"][split] = {"clips": len(clips), "results": results_json(results)}
    text = "\n".join(report)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")
    if args.json:
        args.json.write_text(json.dumps(doc, indent=1) + "\n")
    return 0
