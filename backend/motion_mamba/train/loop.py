"""The training loop every stage shares: AdamW, warm-up + cosine/constant LR, gradient clipping, EMA, periodic
validation and atomic checkpoints, under torchrun/DDP or in one process.

Resuming is exact: the data order and every random draw of step s are functions of (seed, s, rank) only, so
restarting from the checkpoint at step s replays steps s+1.. exactly as the uninterrupted run would have. No RNG
state has to be saved, and a kill loses at most the steps since the last checkpoint. Batches come from a per-epoch
permutation; the task's own draws (crops, captions, noise, timesteps) from the step's `StepRandom`, generators of
this loop alone, so two loops in two threads (the shipped recipe trains the VAE beside the evaluator) cannot
disturb each other through torch's and numpy's process-wide generators. Those are still seeded per step, for what
cannot take a generator (dropout): a stage with dropout replays exactly only when it trains alone.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from .. import __version__
from .checkpointing import (CheckpointError, latest_checkpoint, load_checkpoint, optimizer_from_flat,
                            optimizer_to_flat, save_checkpoint)
from .config import TrainConfig, lr_at
from .distributed import DistInfo, all_reduce_mean, barrier, wrap
from .ema import EMA


@dataclass
class StepRandom:
    """The random draws of one step (or of validation): `numpy` for data (crops, caption choice), `torch` on the
    training device for the objective (noise, timesteps, latent samples)."""

    numpy: np.random.Generator
    torch: torch.Generator

    @classmethod
    def seeded(cls, seed: int, device: str) -> "StepRandom":
        return cls(np.random.default_rng(seed), torch.Generator(device).manual_seed(seed))


class Task:
    """One training stage. `module` holds every trained parameter; `module(batch)` returns (loss, logs).

    `collate` builds a batch from dataset items; `prepare` runs the frozen parts (text encoder, frozen VAE) without
    gradients, outside the DDP-wrapped module so they are neither synchronised nor checkpointed. Both draw from
    `rand`; a batch that the module samples from carries `rand.torch`."""

    module: nn.Module

    def collate(self, items: list[Any], rand: StepRandom) -> Any:
        raise NotImplementedError

    def prepare(self, batch: Any, device: str, rand: StepRandom) -> Any:
        return batch


@dataclass
class TrainResult:
    step: int  # optimizer steps completed
    finished: bool  # reached cfg.steps (False: stopped by max_seconds or interrupted)
    checkpoint: Path | None
    loss: float  # running training loss at the end
    val_loss: float | None
    steps_per_s: float  # this invocation only


def step_seed(seed: int, step: int, rank: int) -> int:
    return int(np.random.SeedSequence([seed, step, rank]).generate_state(1)[0])


def batch_indices(n: int, batch_size: int, step: int, seed: int, rank: int = 0, world: int = 1) -> np.ndarray:
    """This rank's dataset indices for `step`: the global batch is the next batch_size*world items of a stream of
    per-epoch permutations (epoch e shuffled with seed (seed, e)); rank r takes every world-th item from r."""
    if n < 1:
        raise ValueError("the training split is empty")
    g = batch_size * world
    pos = np.arange(step * g, (step + 1) * g)
    out = np.empty(g, dtype=np.int64)
    for e in np.unique(pos // n):
        sel = pos // n == e
        out[sel] = np.random.default_rng([seed, int(e)]).permutation(n)[pos[sel] % n]
    return out[rank::world]


def param_groups(module: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Weight decay on matrices only (nanoGPT); biases, norms and params tagged `_no_weight_decay` (A_log, D) skip it."""
    decay, no_decay = [], []
    for p in module.parameters():
        if p.requires_grad:
            (no_decay if p.ndim < 2 or getattr(p, "_no_weight_decay", False) else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def train(task: Task, train_set: Sequence[Any], val_set: Sequence[Any] | None, cfg: TrainConfig, run_dir: Path,
          run_meta: dict[str, Any], info: DistInfo | None = None, progress: bool = True,
          stop: Callable[[], bool] | None = None) -> TrainResult:
    """Train `task.module` to cfg.steps, resuming from the newest good checkpoint in run_dir/checkpoints.
    `stop()`, asked after every step, ends this call there with a checkpoint, as running out of cfg.max_seconds
    does (a recipe stage re-plans when the stage beside it frees its cores).

    `run_meta` (stage, preset, model config, data, ...) is stored in every checkpoint; resuming a run that was
    started with different `run_meta` is refused, so a run directory never mixes two experiments."""
    cfg.validate()
    info = info or DistInfo()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_root = run_dir / "checkpoints"
    module = task.module.to(info.device)
    optimizer = torch.optim.AdamW(param_groups(module, cfg.weight_decay), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    ema = EMA(module, cfg.ema_decay)
    start, resumed_loss, resumed_val = _resume(ckpt_root, module, optimizer, ema, run_meta)
    ddp = wrap(module, info)
    params = [p for p in module.parameters() if p.requires_grad]
    amp = cfg.amp and info.device.startswith("cuda")
    log_path = run_dir / "log.jsonl"

    def checkpoint(step: int, val_loss: float | None) -> Path | None:
        path = None
        if info.is_main:
            opt_tensors, opt_meta = optimizer_to_flat(optimizer)
            meta = {"run": run_meta, "train": cfg.to_dict(), "optimizer": opt_meta, "ema_updates": ema.num_updates,
                    "loss": None if math.isnan(running) else running, "val_loss": val_loss,
                    "code_version": __version__, "world_size": info.world_size}
            path = save_checkpoint(ckpt_root, step, {"model": module.state_dict(), "ema": ema.state_dict(),
                                                     "optimizer": opt_tensors}, meta, keep=cfg.keep)
        barrier(info)
        return path

    bar = tqdm(total=cfg.steps, initial=start, disable=not (progress and info.is_main), dynamic_ncols=True,
               mininterval=1.0, desc=run_meta.get("stage", "train"))
    # a resumed run continues the running loss, so a call that resumes at its last step still reports one
    t0, step, running, val_loss, last_ckpt = time.monotonic(), start, resumed_loss, resumed_val, None
    finished = start >= cfg.steps
    try:
        while step < cfg.steps:
            seed = step_seed(cfg.seed, step, info.rank)
            _seed_everything(seed)
            rand = StepRandom.seeded(seed, info.device)
            idx = batch_indices(len(train_set), cfg.batch_size, step, cfg.seed, info.rank, info.world_size)
            batch = task.prepare(task.collate([train_set[int(i)] for i in idx], rand), info.device, rand)
            lr = lr_at(step, cfg)
            for group in optimizer.param_groups:
                group["lr"] = lr
            module.train()
            with _autocast(amp, info.device):
                loss, logs = ddp(batch)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"training loss became {loss.item()} at step {step}; resume from the last "
                                         f"good checkpoint in {ckpt_root} with a lower --lr")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            optimizer.step()
            ema.update(module)
            step += 1
            value = float(loss.detach())
            running = value if math.isnan(running) else 0.95 * running + 0.05 * value
            bar.update(1)
            bar.set_postfix(loss=f"{running:.4f}", lr=f"{lr:.2e}", refresh=False)
            if cfg.val_every and (step % cfg.val_every == 0 or step == cfg.steps) and val_set:
                val_loss = all_reduce_mean(_validate(task, module, ema, val_set, cfg, info), info)
                bar.set_postfix(loss=f"{running:.4f}", val=f"{val_loss:.4f}", refresh=False)
            if info.is_main and (step % cfg.log_every == 0 or step == cfg.steps):
                _append_log(log_path, {"step": step, "loss": running, "lr": lr, "val_loss": val_loss,
                                       **{k: float(v) for k, v in logs.items()}})
            out_of_time = (cfg.max_seconds > 0 and time.monotonic() - t0 > cfg.max_seconds) or (
                stop is not None and stop())
            if step % cfg.ckpt_every == 0 or step == cfg.steps or out_of_time:
                last_ckpt = checkpoint(step, val_loss)
            if out_of_time:
                break
        finished = step >= cfg.steps
    except KeyboardInterrupt:
        last_ckpt = checkpoint(step, val_loss)  # keep everything done so far
        raise
    finally:
        bar.close()
    elapsed = time.monotonic() - t0
    if last_ckpt is None and info.is_main:
        last_ckpt = latest_checkpoint(ckpt_root)
    return TrainResult(step=step, finished=finished, checkpoint=last_ckpt, loss=running, val_loss=val_loss,
                       steps_per_s=(step - start) / elapsed if elapsed > 0 else 0.0)


def _resume(ckpt_root: Path, module: nn.Module, optimizer: torch.optim.Optimizer, ema: EMA,
            run_meta: dict[str, Any]) -> tuple[int, float, float | None]:
    """(step, running loss, validation loss) of the newest checkpoint, loaded into the module, optimizer and EMA;
    (0, nan, None) when there is none."""
    path = latest_checkpoint(ckpt_root)
    if path is None:
        return 0, math.nan, None
    tensors, meta = load_checkpoint(path)
    if meta.get("run") != json.loads(json.dumps(run_meta)):
        raise CheckpointError(f"{path}: this run was started with a different configuration; use a new --out "
                              f"directory (checkpoint: {_short(meta.get('run'))}; now: {_short(run_meta)})")
    try:
        module.load_state_dict(tensors["model"])
        ema.load_state_dict(tensors["ema"], meta["ema_updates"])
        optimizer_from_flat(optimizer, tensors["optimizer"], meta["optimizer"])
    except (KeyError, RuntimeError, ValueError) as e:
        raise CheckpointError(f"{path}: does not fit the model being trained ({e})") from None
    loss = meta.get("loss")  # absent from checkpoints written before it was recorded
    return int(meta["step"]), math.nan if loss is None else float(loss), meta.get("val_loss")


@torch.no_grad()
def _validate(task: Task, module: nn.Module, ema: EMA, val_set: Sequence[Any], cfg: TrainConfig,
              info: DistInfo) -> float:
    """Mean loss of the EMA weights (what gets shipped) over the first val_batches batches of this rank's shard."""
    live = {k: v.clone() for k, v in module.state_dict().items()}
    ema.copy_to(module)
    module.eval()
    rand = StepRandom.seeded(step_seed(cfg.seed, 2**40, info.rank), info.device)  # the same draws every time
    losses = []
    shard = list(range(info.rank, len(val_set), info.world_size))
    for b in range(cfg.val_batches):
        idx = shard[b * cfg.batch_size:(b + 1) * cfg.batch_size]
        if not idx:
            break
        loss, _ = module(task.prepare(task.collate([val_set[i] for i in idx], rand), info.device, rand))
        losses.append(float(loss))
    module.load_state_dict(live)
    return float(np.mean(losses)) if losses else math.nan


def _seed_everything(seed: int) -> None:
    """torch's, numpy's and `random`'s process-wide generators, for draws that cannot take a generator (dropout)."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def _autocast(enabled: bool, device: str) -> contextlib.AbstractContextManager:
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device_type="cuda", dtype=torch.bfloat16)


def _append_log(path: Path, record: dict[str, Any]) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def _short(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True)
    return text if len(text) < 200 else text[:197] + "..."
