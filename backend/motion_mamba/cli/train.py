"""`motion-mamba train vae|denoiser|evaluator|shipped`: the paper's two stages, the evaluator, the shipped recipe.

    motion-mamba train vae       --preset demo --data DIR --out RUN     # RUN/vae/{checkpoints,model}
    motion-mamba train denoiser  --data DIR --out RUN                   # frozen RUN/vae/model -> RUN/model
    motion-mamba train evaluator --preset demo --data DIR --out EVAL    # EVAL/evaluator
    motion-mamba train shipped   --out WORK                             # synth -> vae -> denoiser -> evaluator -> eval

Running the same command again resumes from the newest good checkpoint. Multi-GPU / multi-node:
`torchrun --nproc_per_node N --no-python motion-mamba train ...` (DDP; gloo on CPU, NCCL on CUDA).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from . import CLIError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("train", help="train the VAE, the denoiser, the evaluator, or the shipped model")
    sub = p.add_subparsers(dest="stage", metavar="STAGE", required=True)
    for stage, text in (("vae", "stage 1: the motion VAE"), ("denoiser", "stage 2: the latent denoiser on the "
                        "frozen VAE"), ("evaluator", "the contrastive text-motion evaluator")):
        s = sub.add_parser(stage, help=text)
        s.add_argument("--data", required=True, type=Path, help="HumanML3D-layout folder (train/val splits)")
        s.add_argument("--out", required=True, type=Path, help="run directory (resumed if it has checkpoints)")
        s.add_argument("--preset", default=None, help="model preset: paper, paper-literal, demo, test "
                       "(denoiser: default from the VAE bundle)")
        if stage == "denoiser":
            s.add_argument("--arch", choices=("mamba", "transformer"), default="mamba",
                           help="transformer: the MLD-style baseline with the same parameter budget")
            s.add_argument("--vae", type=Path, default=None, help="VAE bundle (default RUN/vae/model)")
            s.add_argument("--text-segments", type=int, default=None, metavar="K",
                           help="text tokens beyond the pooled one (model/text.py; default: the VAE bundle's)")
        _add_train_options(s)
        s.set_defaults(func=run)
    from ..train.shipped import register_shipped

    register_shipped(sub)


def _add_train_options(s: argparse.ArgumentParser) -> None:
    g = s.add_argument_group("optimisation (defaults: the preset's recipe, train/recipes.py)")
    g.add_argument("--steps", type=int)
    g.add_argument("--batch-size", type=int)
    g.add_argument("--lr", type=float)
    g.add_argument("--schedule", choices=("cosine", "constant"))
    g.add_argument("--warmup-steps", type=int)
    g.add_argument("--grad-clip", type=float)
    g.add_argument("--ema-decay", type=float)
    g.add_argument("--ckpt-every", type=int)
    g.add_argument("--val-every", type=int)
    g.add_argument("--seed", type=int)
    g.add_argument("--max-minutes", type=float, help="stop (with a checkpoint) after this long; rerun to resume")
    g.add_argument("--max-clips", type=int, default=0, help="use only the first N clips of each split")
    g.add_argument("--device", default="auto", help="auto, cpu or cuda")
    g.add_argument("--threads", type=int, help="torch CPU threads (1 is faster on a busy shared machine)")
    g.add_argument("--no-amp", action="store_true", help="disable bf16 autocast on CUDA")
    g.add_argument("--no-progress", action="store_true")


def set_threads(threads: int | None) -> None:
    if threads is not None:
        if threads < 1:
            raise CLIError(f"--threads must be >= 1, got {threads}")
        import torch

        torch.set_num_threads(threads)


def overrides(args: argparse.Namespace) -> dict:
    return dict(steps=args.steps, batch_size=args.batch_size, lr=args.lr, schedule=args.schedule,
                warmup_steps=args.warmup_steps, grad_clip=args.grad_clip, ema_decay=args.ema_decay,
                ckpt_every=args.ckpt_every, val_every=args.val_every, seed=args.seed,
                max_seconds=None if args.max_minutes is None else args.max_minutes * 60.0,
                amp=False if args.no_amp else None)


def run(args: argparse.Namespace) -> int:
    from ..train.distributed import init_distributed, shutdown

    set_threads(args.threads)
    info = init_distributed(args.device)
    try:
        result, bundle = run_stage(args.stage, args, info)
    finally:
        shutdown(info)
    if info.is_main:
        state = "finished" if result.finished else "stopped early (rerun the same command to resume)"
        print(json.dumps({"stage": args.stage, "state": state, "step": result.step, "loss": result.loss,
                          "val_loss": result.val_loss, "steps_per_s": round(result.steps_per_s, 3),
                          "checkpoint": str(result.checkpoint), "bundle": str(bundle) if bundle else None}))
    return 0


def run_stage(stage: str, args: argparse.Namespace, info):
    """Train one stage as `args` describe; returns (TrainResult, exported bundle or None)."""
    from ..model.motion_model import MotionModel
    from ..model.presets import get_preset
    from ..train import stages
    from ..train.data import load_split
    from ..train.recipes import evaluator_config, train_config

    data, out = args.data.resolve(), Path(args.out)
    progress = not args.no_progress
    if stage == "vae":
        config = get_preset(args.preset or "demo")
        train_set, val_set = _splits(load_split, data, config.skeleton, args.max_clips)
        cfg = train_config(config.preset, "vae", **overrides(args))
        meta = {"stage": "vae", "preset": config.preset, "data": str(data), "model": config.to_dict()}
        return stages.run_vae(MotionModel(config), train_set, val_set, cfg, out / "vae", meta, info, progress)
    if stage == "denoiser":
        from ..model.baseline import matched_baseline
        from ..model.checkpoint import load_bundle

        vae_path = args.vae or out / "vae" / "model"
        if not (Path(vae_path) / "config.json").is_file():
            raise CLIError(f"{vae_path}: no VAE bundle; run `motion-mamba train vae --out {out}` first or pass --vae")
        vae_model, _ = load_bundle(vae_path)
        config = vae_model.config
        if args.preset and args.preset != config.preset:
            raise CLIError(f"--preset {args.preset} differs from the VAE bundle's preset {config.preset}")
        if args.text_segments is not None:
            config = dataclasses.replace(config, denoiser=dataclasses.replace(
                config.denoiser, text_segments=args.text_segments)).validate()
        if args.arch == "transformer":  # the same VAE, a parameter-matched transformer denoiser
            config = dataclasses.replace(config, denoiser=matched_baseline(config.denoiser),
                                         name=config.name + "-baseline")
        model = MotionModel(config)
        model.vae.load_state_dict(vae_model.vae.state_dict())
        model.set_statistics(**vae_model.statistics())
        train_set, val_set = _splits(load_split, data, config.skeleton, args.max_clips)
        cfg = train_config(config.preset, "denoiser", **overrides(args))
        meta = {"stage": "denoiser", "preset": config.preset, "arch": config.denoiser.arch, "data": str(data),
                "vae": str(Path(vae_path).resolve()), "model": config.to_dict()}
        run_dir = out / ("denoiser" if args.arch == "mamba" else "denoiser-transformer")
        result, bundle = stages.run_denoiser(model, train_set, val_set, cfg, run_dir, meta, info, progress)
        if bundle is not None and args.arch == "mamba":
            from ..model.checkpoint import save_bundle
            from ..model.checkpoint import load_bundle as _load

            final, doc = _load(bundle)
            bundle = save_bundle(out / "model", final, doc.get("metadata"))  # RUN/model: the run's result
        return result, bundle
    if stage == "evaluator":
        preset = args.preset or "demo"
        get_preset(preset)  # validates the name
        ecfg = evaluator_config(preset)
        train_set, val_set = _splits(load_split, data, ecfg.skeleton, args.max_clips)
        cfg = train_config(preset, "evaluator", **overrides(args))
        meta = {"stage": "evaluator", "preset": preset, "data": str(data), "evaluator": dataclasses.asdict(ecfg)}
        return stages.run_evaluator(ecfg, train_set, val_set, cfg, out, meta, info, progress)
    raise CLIError(f"unknown stage {stage!r}")


def _splits(load_split, data: Path, skeleton: str, max_clips: int):
    from ..data.humanml3d import DatasetError

    train_set = load_split(data, "train", skeleton, max_clips)
    try:
        val_set = load_split(data, "val", skeleton, max_clips)
    except DatasetError:
        val_set = None  # validation is optional
    return train_set, val_set
