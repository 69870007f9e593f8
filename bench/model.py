"""Average inference time per sentence (AITS), Motion Mamba vs the MLD-style transformer baseline, one run.

    $ .venv/bin/python bench/model.py              # demo + paper presets, both solvers: a few minutes on 2 cores
    $ .venv/bin/python bench/model.py --quick      # demo only, fewer repeats

AITS as MLD defines it (text encoding -> sampling with classifier-free guidance -> VAE decode) plus joint
recovery and IK, i.e. everything `MotionPipeline.__call__` does for one sentence, batch 1, for a 9.8 s clip.
Models are randomly initialised at the preset's size (speed does not depend on the weights); each is warmed up,
then the two architectures alternate run by run and the median of each is reported, so load from other
processes on a shared CPU hits both alike. On CUDA every run is synchronised before the clock stops.
The paper preset needs CLIP ViT-L/14 weights; when they are absent it is timed with the MiniLM encoder instead,
and without MiniLM with the hashed `tiny` encoder (text encoding then costs ~nothing); the output says so.
`--ssm-backend` forces the selective scan's backend (on CUDA: "torch" vs "mamba_ssm", the fused kernel).
Parameter budgets are equal by construction (`get_preset(..., arch="transformer")`).
Goal (issue): demo preset, 10 s clip, fast solver, <= 1 s on CPU.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time

import torch

from motion_mamba.model.motion_model import MotionModel
from motion_mamba.model.checkpoint import weights_hash
from motion_mamba.model.config import TextConfig
from motion_mamba.model.presets import get_preset
from motion_mamba.model.text import TextEncoder, build_text_encoder
from motion_mamba.pipeline import MotionPipeline
from motion_mamba.ssm import set_backend
from motion_mamba.ssm.dispatch import BACKENDS

PROMPTS = ["a person walks forward and turns around", "someone jumps twice", "a man waves with his right hand",
           "a person kicks with the left leg"]


def build(preset: str, arch: str, device: str) -> tuple[MotionPipeline, str]:
    config = get_preset(preset, arch=arch)
    text_config, text = _text_encoder(config.text, device)
    note = config.text.encoder
    if text_config is not config.text:
        note = f"{text_config.encoder} ({config.text.encoder} weights absent)"
        config = dataclasses.replace(config, text=text_config)
        config.denoiser = dataclasses.replace(config.denoiser, text_dim=text_config.dim)
    torch.manual_seed(0)
    model = MotionModel(config.validate())
    return MotionPipeline(model, text, weights_hash(model), device), note


def _text_encoder(config: TextConfig, device: str) -> tuple[TextConfig, TextEncoder]:
    """The preset's encoder, else MiniLM, else the hashed one (a rented GPU machine has neither CLIP nor MiniLM)."""
    for candidate in (config, TextConfig(encoder="minilm", dim=384)):
        try:
            return candidate, build_text_encoder(candidate, device)
        except FileNotFoundError:
            continue
    fallback = TextConfig(encoder="tiny", dim=384)
    return fallback, build_text_encoder(fallback, device)


def run_once(pipe: MotionPipeline, i: int, solver: str, seconds: float) -> float:
    if pipe.device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    pipe.text_encoder._cache.clear()  # AITS includes text encoding
    pipe([PROMPTS[i % len(PROMPTS)]], [seconds], [i], solver=solver)
    if pipe.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def bench(preset: str, solver: str, repeats: int, warmup: int, seconds: float, device: str) -> dict:
    pipes = {arch: build(preset, arch, device) for arch in ("mamba", "transformer")}
    for pipe, _ in pipes.values():
        for i in range(warmup):
            run_once(pipe, i, solver, seconds)
    times: dict[str, list[float]] = {arch: [] for arch in pipes}
    for i in range(repeats):
        for arch, (pipe, _) in pipes.items():
            times[arch].append(run_once(pipe, i, solver, seconds))
    med = {arch: statistics.median(t) for arch, t in times.items()}
    m = pipes["mamba"][0]
    return {
        "preset": preset,
        "solver": solver,
        "steps": m.diffusion.default_steps(solver),
        "clip_seconds": seconds,
        "text_encoder": pipes["mamba"][1],
        "denoiser_parameters": {a: p.info["parameters"]["denoiser"] for a, (p, _) in pipes.items()},
        "aits_s": {a: round(v, 4) for a, v in med.items()},
        "ratio_mamba_over_transformer": round(med["mamba"] / med["transformer"], 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="demo preset only, 3 repeats")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--seconds", type=float, default=9.8)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads (1: batch-1 inference on tiny tensors gains nothing from more, and on a "
                         "shared CPU extra threads spin-wait and slow everything down)")
    ap.add_argument("--ssm-backend", choices=BACKENDS, default="auto",
                    help="selective-scan backend for the Mamba denoiser (default auto: the fastest available)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    set_backend(args.ssm_backend)
    presets = ["demo"] if args.quick else ["demo", "paper"]
    repeats, warmup = (3, 1) if args.quick else (7, 2)
    print(f"device {args.device}, torch threads {torch.get_num_threads()}, selective scan {args.ssm_backend}")
    for preset in presets:
        for solver in ("dpm++", "ddim"):
            r = bench(preset, solver, repeats, warmup, args.seconds, args.device)
            print(json.dumps(r))
            if preset == "demo" and solver == "dpm++":
                verdict = "meets" if r["aits_s"]["mamba"] <= 1.0 else "MISSES"
                print(f"  goal: demo, {args.seconds} s clip, {solver}: {r['aits_s']['mamba']:.3f} s -> {verdict} <= 1 s")


if __name__ == "__main__":
    main()
