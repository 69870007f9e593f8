"""`motion-mamba train shipped --out WORK`: the whole recipe of the shipped model, in one resumable command.

    1. synth      the procedural corpus (`data synth`): train / val / test (held-out phrasings + compositions),
                  then every train/val caption embedded once by the frozen text encoder (MiniLM)
    2. vae        stage 1, `demo` preset
    3. denoiser   stage 2, Motion Mamba on the frozen VAE
    4. baseline   the MLD-style transformer denoiser: same VAE, same parameter budget, same number of steps (A/B)
   4b. guidance   each denoiser's guidance scale, the best R@3 on the val split (`train/guidance.py`), written
                  into its bundle; the two searches run side by side
    5. evaluator  the contrastive text-motion evaluator on the same train split; it needs neither the VAE nor the
                  denoisers, so it trains (after the captions) in a second thread beside the VAE
    6. eval       Table 1 per held-out kind (real clips first; the model at initialisation; the baseline)
    7. card       WORK/MODEL_CARD.md and WORK/results.md from the numbers above; with --install the bundle,
                  evaluator and card are copied into the package (motion_mamba/assets/), which is what
                  `motion-mamba generate` loads by default

Each training stage has a wall-clock budget: it first trains for `--probe-seconds`, measures steps/s, then plans
the number of steps that fits the rest of its budget (the plan is kept in WORK/plan.json, so a rerun after a kill
resumes the same plan). Rerunning the command skips finished stages and resumes the others from checkpoints.
The denoisers' budgets are ceilings: each gets what is left of the `total` once the guidance search and the
evaluation (`eval`) and, for Motion Mamba, the baseline after it have their share, so time the VAE leaves unused (it
stops at its step cap on a quiet machine) goes to the denoiser, the stage that gains most from steps (docs/model.md,
run g).

Cores (`--threads`, default all that torch sees): two stages side by side (VAE | captions + evaluator; the two
held-out splits' evaluations) get half each, a stage alone (the denoisers) gets all; when the evaluator ends, the
VAE takes its cores and plans its remaining steps again (`Handover`). torch's thread count is per thread, so
each side sets its own (`torch_threads`); oversubscribed cores only spin and wait.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import shlex
import shutil
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterator

import torch

from ..postprocess import OUTPUT_VERSION
from .checkpointing import write_json_atomic
from .model_card import WALL
from .config import TrainConfig

# minutes: the recipe's target in total, and per stage; synth, captions, guidance and eval are not capped (they are
# measured and reported; "eval" is the time kept for guidance + eval: run i took 8.8 + 16.6 on a slow day, before
# the raw rows shared their cleaned rows' samples and the guidance search dropped to 2 repetitions, ~1/3 less of
# each), the rest are budgets, the denoisers' only ceilings (see above)
BUDGET_MINUTES = {"total": 88, "synth": 4, "captions": 5, "vae": 26, "denoiser": 60, "baseline": 15,
                  "evaluator": 10, "eval": 21}
DRY_RUN_MINUTES = {"total": 10, "synth": 1, "captions": 1, "vae": 1.5, "denoiser": 1.5, "baseline": 1,
                   "evaluator": 1, "eval": 3}
# the transformer baseline's minutes per Motion Mamba minute at the same steps, kept free for it when the denoiser
# plans (runs f, g: 6.9 / 27.9 = 0.25 on 2 cores; rounded up, a slower baseline would be cut short of the A/B's steps)
BASELINE_TIME_RATIO = 0.3
# the guidance search's repetitions: its scales' val R@3 differ by < 0.01 around the best (run i: 0.806 / 0.810 /
# 0.805 at 4 / 5 / 6), so a third repetition rarely changes the choice and cost 3 of run i's 8.8 minutes
GUIDANCE_REPEATS = 2
HELD_OUT_SPLITS = ("test:phrasing", "test:composition")
_WRITES = threading.Lock()  # the plan and report dicts are shared by the two threads that train side by side


def register_shipped(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("shipped", help="the shipped model's whole recipe (synth -> vae -> denoiser -> baseline -> "
                       "evaluator -> eval -> model card)", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("--out", required=True, type=Path, help="work folder (resumed if it exists)")
    s.add_argument("--clips", type=int, default=10000, help="procedural corpus size (default 10000)")
    s.add_argument("--probe-seconds", type=float, default=60.0, help="speed probe per training stage")
    s.add_argument("--repeats", type=int, default=3, help="evaluation repetitions (T2M: 20)")
    s.add_argument("--eval-clips", type=int, default=256, help="test clips per held-out kind (0: all)")
    s.add_argument("--mm-samples", type=int, default=10, help="MultiModality prompts (T2M: 100)")
    s.add_argument("--mm-repeats", type=int, default=10, help="MultiModality motions per prompt (T2M: 30)")
    s.add_argument("--budget", action="append", default=[], metavar="STAGE=MIN",
                   help=f"override a stage budget in minutes (defaults {BUDGET_MINUTES})")
    s.add_argument("--dry-run", action="store_true", help="a few minutes in total: small corpus, 1-minute stages, "
                   "prints per-stage speeds to plan the real run (never installs)")
    s.add_argument("--install", action="store_true", help="copy the bundle, evaluator and card into the package")
    s.add_argument("--device", default="auto")
    s.add_argument("--threads", type=int, help="CPU cores to use (default: all torch sees; stages side by side get "
                   "half each, see above)")
    s.add_argument("--no-progress", action="store_true")
    s.set_defaults(func=run_shipped)


def _budgets(args: argparse.Namespace) -> dict[str, float]:
    budgets = dict(DRY_RUN_MINUTES if args.dry_run else BUDGET_MINUTES)
    for item in args.budget:
        stage, _, minutes = item.partition("=")
        if stage not in budgets:
            raise ValueError(f"--budget {item!r}: stage must be one of {', '.join(budgets)}")
        budgets[stage] = float(minutes)
    return budgets


def rest_of_total(budgets: dict[str, float], stage: str, elapsed_min: float, after: float = 0.0) -> float:
    """A denoiser's budget in minutes: its ceiling, or what is left of the total after the elapsed minutes and the
    evaluation's, shared with the stages after it (`after`: their minutes per minute of this one)."""
    left = budgets["total"] - elapsed_min - budgets["eval"]
    return min(budgets[stage], max(0.0, left) / (1.0 + after))


Run = Callable[[TrainConfig, Callable[[], bool] | None], tuple[Any, Any]]  # (config, stop) -> (result, bundle)


@dataclasses.dataclass
class Handover:
    """Cores a stage side by side with this one hands over when it ends (`done` is set then)."""

    done: threading.Event
    threads: int


def budgeted(name: str, run: Run, cfg: TrainConfig, budget_s: float, probe_s: float, plan: dict[str, int],
             plan_path: Path, handover: Handover | None = None) -> tuple[Any, Any, dict[str, float]]:
    """Train within `budget_s`: probe the speed, plan steps (at most cfg.steps), train to the plan.

    With `handover`, the stage stops when the stage beside it ends, takes its cores, probes its new speed and plans
    again for the rest of the budget (the cosine schedule stretches to the new plan). The re-plan is kept in the
    plan as `NAME+` (the step it happened at), so a rerun after a kill trains to it on all cores."""
    t0 = time.monotonic()
    results = []

    def left() -> float:
        return budget_s - (time.monotonic() - t0)

    def probe_and_plan(steps: int, **marks: int) -> None:
        result, _ = run(dataclasses.replace(cfg, steps=steps, max_seconds=max(1.0, min(probe_s, left()))), None)
        results.append(result)
        planned = result.step if result.finished else max(
            result.step, min(cfg.steps, result.step + int(0.9 * left() * result.steps_per_s)))
        _save_plan(plan, plan_path, {name: planned, **marks})

    if name not in plan:
        probe_and_plan(cfg.steps)
    wide = f"{name}+"
    if handover is not None and wide not in plan:
        result, _ = run(dataclasses.replace(cfg, steps=plan[name], max_seconds=1.15 * max(60.0, left())),
                        handover.done.is_set)
        results.append(result)
        if not result.finished and handover.done.is_set() and left() > probe_s:
            with torch_threads(handover.threads):
                probe_and_plan(plan[name], **{wide: result.step})
    all_cores = handover is not None and (wide in plan or handover.done.is_set())
    with torch_threads(handover.threads) if all_cores else contextlib.nullcontext():
        result, bundle = run(dataclasses.replace(cfg, steps=plan[name], max_seconds=1.15 * max(60.0, left())), None)
        results.append(result)
        if not result.finished:  # the hard cap hit before the plan: end the stage where it is
            _save_plan(plan, plan_path, {name: result.step})
            result, bundle = run(dataclasses.replace(cfg, steps=result.step, max_seconds=0.0), None)
    speeds = [r.steps_per_s for r in results if r.steps_per_s > 0]
    losses = [r.loss for r in results if r.loss == r.loss]  # drop NaN: a call that resumed at its last step
    return result, bundle, {"steps": result.step, "minutes": round((time.monotonic() - t0) / 60, 2),
                            "steps_per_s": round(sum(speeds) / len(speeds), 4) if speeds else None,
                            "loss": losses[-1] if losses else None, "val_loss": result.val_loss,
                            "batch_size": cfg.batch_size, **({"all_cores_from": plan[wide]} if wide in plan else {})}


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch's intra-op threads for the calling thread only (each Python thread keeps its own count)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _save_plan(plan: dict[str, int], plan_path: Path, entries: dict[str, int]) -> None:
    with _WRITES:
        plan.update(entries)
        write_json_atomic(plan_path, plan)


def run_shipped(args: argparse.Namespace) -> int:
    from ..data.synth.corpus import generate
    from ..model.checkpoint import load_bundle
    from ..model.motion_model import MotionModel
    from ..model.presets import get_preset
    from ..model.baseline import matched_baseline
    from . import stages
    from .data import load_split
    from .distributed import init_distributed
    from .recipes import evaluator_config, train_config

    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be >= 1, got {args.threads}")
    cores = args.threads or torch.get_num_threads()
    half = max(1, cores // 2)  # each of two stages side by side
    work = args.out.resolve()
    work.mkdir(parents=True, exist_ok=True)
    budgets = _budgets(args)
    clips = min(args.clips, 600) if args.dry_run else args.clips
    info = init_distributed(args.device)
    progress = not args.no_progress
    plan_path, report_path = work / "plan.json", work / "stages.json"
    plan = json.loads(plan_path.read_text()) if plan_path.is_file() else {}
    report: dict[str, Any] = json.loads(report_path.read_text()) if report_path.is_file() else {}
    data, run_dir = work / "data", work / "run"
    command_path = work / "command.txt"  # the first invocation's command line, for the card (reruns only resume)
    if not command_path.is_file():
        argv = ["WORK" if Path(a).resolve() == work else a for a in sys.argv[1:]]
        command_path.write_text(shlex.join(["motion-mamba", *argv]) + "\n")

    # "wall" adds up invocations (a killed run resumes), less what this one redoes: every invocation re-evaluates,
    # and the guidance scale, chosen on the cleaned output, is chosen again after a clean-up change (OUTPUT_VERSION);
    # so re-running a finished recipe replaces their minutes rather than adding them (they leave the report now, so
    # a rerun killed before it redoes them cannot subtract them twice)
    stale_guidance = report.get("guidance", {}).get("output_version", OUTPUT_VERSION) != OUTPUT_VERSION
    redone = ["eval", "guidance"] if stale_guidance else ["eval"]
    earlier = float(report.get(WALL, {}).get("minutes", 0.0)) - sum(
        float(report.pop(stage, {}).get("minutes", 0.0)) for stage in redone)
    started = time.monotonic()

    def elapsed_min() -> float:
        return earlier + (time.monotonic() - started) / 60

    completed = {k for k in report if k not in ("eval", WALL)}  # by an earlier invocation of this recipe

    def finished(stage: str, bundle: Path) -> bool:
        """Completed earlier and its bundle is there: resuming it would only re-export the same weights (and
        overwrite their metadata and this report's timings with an empty run's)."""
        return stage in completed and bundle.exists()

    def done(stage: str, entry: dict[str, Any]) -> None:
        with _WRITES:
            report[stage] = entry
            report[WALL] = {"minutes": round(elapsed_min(), 2)}
            write_json_atomic(report_path, report)
        print(f"[shipped] {stage}: {json.dumps(entry)}", flush=True)

    # 1. corpus
    if not (data / "train.txt").is_file():
        t0 = time.monotonic()
        summary = generate(data, clips, seed=0, workers=2, progress=progress)
        done("synth", {**summary, "minutes": round((time.monotonic() - t0) / 60, 2)})
    config = get_preset("demo")
    train_set = load_split(data, "train", config.skeleton)
    val_set = load_split(data, "val", config.skeleton)
    data_meta = str(data)
    from ..model.text import build_text_encoder
    from .text_cache import TextCache

    # shared by the denoisers and the evaluator (MiniLM; the evaluator reads only the pooled vectors)
    text = TextCache(build_text_encoder(config.text), config.denoiser.text_segments)

    vae_bundle, evaluator_dir = run_dir / "vae" / "model", work / "evaluator" / "evaluator"
    mamba_bundle, baseline_bundle = run_dir / "denoiser" / "model", run_dir / "denoiser-transformer" / "model"
    trained = {"evaluator": evaluator_dir, "denoiser": mamba_bundle, "baseline": baseline_bundle}

    evaluator_ended = threading.Event()  # the VAE then takes its cores

    def captions_then_evaluator() -> Path:
        try:
            with torch_threads(half):
                return _captions_then_evaluator()
        finally:
            evaluator_ended.set()

    def _captions_then_evaluator() -> Path:
        if not all(finished(stage, path) for stage, path in trained.items()):
            t0 = time.monotonic()  # every caption embedded once, up front, so the speed probes measure training only
            captions = [c for split in (train_set, val_set) for clip in split.clips for c in clip.captions] + [""]
            text.condition(captions)
            done("captions", {"captions": len(set(captions)), "minutes": round((time.monotonic() - t0) / 60, 2)})
        if finished("evaluator", evaluator_dir):
            return evaluator_dir
        ecfg = evaluator_config("demo")
        emeta = {"stage": "evaluator", "preset": "demo", "data": data_meta, "evaluator": dataclasses.asdict(ecfg)}
        _, bundle, rep = budgeted(
            "evaluator", lambda c, _: stages.run_evaluator(ecfg, train_set, val_set, c, work / "evaluator", emeta,
                                                           info, progress, text),
            train_config("demo", "evaluator"), budgets["evaluator"] * 60, args.probe_seconds, plan, plan_path)
        done("evaluator", rep)
        return bundle

    # 2. VAE, and beside it (second thread) the captions and 5. the evaluator
    with ThreadPoolExecutor(1) as pool, torch_threads(half):
        evaluator_job = pool.submit(captions_then_evaluator)
        if not finished("vae", vae_bundle):
            vae_model = MotionModel(config)
            meta = {"stage": "vae", "preset": "demo", "data": data_meta, "model": config.to_dict()}
            _, vae_bundle, rep = budgeted(
                "vae", lambda c, stop: stages.run_vae(vae_model, train_set, val_set, c, run_dir / "vae", meta, info,
                                                      progress, stop),
                train_config("demo", "vae"), budgets["vae"] * 60, args.probe_seconds, plan, plan_path,
                Handover(evaluator_ended, cores))
            done("vae", rep)
        evaluator_dir = evaluator_job.result()

    # 3./4. denoisers on the frozen VAE: Motion Mamba, then the transformer with the same steps
    def denoiser_stage(arch: str, stage: str, fixed_steps: int | None):
        vae, _ = load_bundle(run_dir / "vae" / "model")
        cfg_model = dataclasses.replace(vae.config, denoiser=config.denoiser)  # the bundle's VAE, the preset's denoiser
        if arch == "transformer":
            cfg_model = dataclasses.replace(cfg_model, denoiser=matched_baseline(config.denoiser),
                                            name=config.name + "-baseline")
        model = MotionModel(cfg_model)
        model.vae.load_state_dict(vae.vae.state_dict())
        model.set_statistics(**vae.statistics())
        m = {"stage": "denoiser", "preset": "demo", "arch": arch, "data": data_meta,
             "vae": str(run_dir / "vae" / "model"), "model": cfg_model.to_dict()}
        cfg = train_config("demo", "denoiser")
        if fixed_steps is not None:  # A/B: the same number of steps, the budget is only a safety cap
            plan.setdefault(stage, fixed_steps)
        folder = run_dir / ("denoiser" if arch == "mamba" else "denoiser-transformer")
        budget = rest_of_total(budgets, stage, elapsed_min(), BASELINE_TIME_RATIO if arch == "mamba" else 0.0)
        print(f"[shipped] {stage}: budget {budget:.1f} min", flush=True)
        result, bundle, rep = budgeted(
            stage, lambda c, _: stages.run_denoiser(model, train_set, val_set, c, folder, m, info, progress, text),
            cfg, budget * 60, args.probe_seconds, plan, plan_path)
        return result, bundle, {**rep, "budget_minutes": round(budget, 1)}

    with torch_threads(cores):  # alone on the machine
        if not finished("denoiser", mamba_bundle):
            _, mamba_bundle, rep = denoiser_stage("mamba", "denoiser", None)
            done("denoiser", rep)
        if not finished("baseline", baseline_bundle):
            _, baseline_bundle, rep = denoiser_stage("transformer", "baseline", plan["denoiser"])
            done("baseline", rep)

    # each denoiser's guidance scale, on the val split
    if not finished("guidance", mamba_bundle):
        t0 = time.monotonic()
        chosen = choose_recipe_guidance({"denoiser": mamba_bundle, "baseline": baseline_bundle}, evaluator_dir, data,
                                        args, half)
        minutes = round((time.monotonic() - t0) / 60, 2)
        done("guidance", {**chosen, "output_version": OUTPUT_VERSION, "minutes": minutes})

    # 6. evaluation per held-out kind
    t0 = time.monotonic()
    tables = evaluate_recipe(mamba_bundle, baseline_bundle, evaluator_dir, data, args, half)
    done("eval", {"minutes": round((time.monotonic() - t0) / 60, 2)})

    # 7. model card (+ install)
    from .model_card import write_model_card

    card = write_model_card(work, mamba_bundle, evaluator_dir, report, tables, clips, args.dry_run,
                            command_path.read_text().strip())
    print(card.read_text())
    if args.install and not args.dry_run:
        install(mamba_bundle, evaluator_dir, card, work / "results.md")
    return 0


def choose_recipe_guidance(bundles: dict[str, Path], evaluator_dir: Path, data: Path, args: argparse.Namespace,
                           threads: int = 1) -> dict[str, Any]:
    """{stage: what `guidance.choose_guidance` chose} for each bundle, one thread each (as the evaluation). A val
    split too small for R-Precision (a dry run's) keeps the models' default and says so."""
    from ..eval.evaluator import TextMotionEvaluator
    from ..eval.metrics import R_PRECISION_GROUP
    from ..eval.runner import EvalSettings
    from .data import load_split
    from .guidance import choose_guidance

    clips = load_split(data, "val", max_clips=args.eval_clips).clips
    if len(clips) < R_PRECISION_GROUP:
        return {"skipped": f"the val split has {len(clips)} clips, R-Precision needs {R_PRECISION_GROUP}"}
    evaluator = TextMotionEvaluator.load(evaluator_dir)
    settings = EvalSettings(repeats=1 if args.dry_run else min(args.repeats, GUIDANCE_REPEATS), mm_samples=0,
                            timing_sentences=0)

    def run(bundle: Path) -> dict[str, Any]:
        with torch_threads(threads):
            return choose_guidance(bundle, evaluator, clips, settings, progress=not args.no_progress)

    with ThreadPoolExecutor(len(bundles)) as pool:
        jobs = {stage: pool.submit(run, bundle) for stage, bundle in bundles.items()}
        return {stage: job.result() for stage, job in jobs.items()}


def evaluate_recipe(mamba_bundle: Path, baseline_bundle: Path, evaluator_dir: Path, data: Path,
                    args: argparse.Namespace, threads: int = 1) -> dict[str, Any]:
    """Table 1 rows per held-out split: Real, Motion Mamba, its raw output (no clean-up), its one-pass output
    (sequenced prompts not split), its VAE's reconstruction of the real clips, Motion Mamba @ init (cleaned and raw),
    transformer baseline; every generated row but the raw ones goes through the pipeline's clean-up."""
    from ..eval.evaluator import TextMotionEvaluator
    from ..eval.runner import EvalSettings, evaluate, time_per_sentence
    from ..eval.table import results_json
    from .data import load_split
    from ..cli.eval import load_methods

    ns = argparse.Namespace(guidance=None, steps=None, solver="dpm++", with_init=True, with_raw=True, with_recon=True,
                            with_one_pass=True, device="cpu")
    methods, _ = load_methods([mamba_bundle], ns)
    ns.with_init = ns.with_raw = ns.with_recon = ns.with_one_pass = False
    methods += load_methods([baseline_bundle], ns)[0]
    evaluator = TextMotionEvaluator.load(evaluator_dir)
    repeats = 1 if args.dry_run else args.repeats
    mm_samples, mm_repeats = (min(args.mm_samples, 8), min(args.mm_repeats, 4)) if args.dry_run else (
        args.mm_samples, args.mm_repeats)
    settings = EvalSettings(repeats=repeats, mm_samples=mm_samples, mm_repeats=mm_repeats,
                            max_frames=methods[0].pipe.max_frames, timing_sentences=3 if args.dry_run else 10)
    out: dict[str, Any] = {"settings": dataclasses.asdict(settings), "evaluator": evaluator.name, "splits": {}}

    # loaded here, not in the threads: np.load parses headers with ast.literal_eval, which CPython 3.11.7's compiler
    # does not allow from two threads at once (SystemError "AST constructor recursion depth mismatch", seen here)
    held_out = {split: load_split(data, split, max_clips=args.eval_clips).clips for split in HELD_OUT_SPLITS}

    def run(split: str) -> tuple[list, list]:
        clips = held_out[split]
        untimed = dataclasses.replace(settings, timing_sentences=0)
        with torch_threads(threads):
            return clips, evaluate(evaluator, clips, methods, untimed, progress=not args.no_progress)

    # one thread per split, as the VAE and the evaluator train: the models are only read, the text cache locks,
    # and every split draws from its own seeded generator, so the numbers do not depend on the threading
    with ThreadPoolExecutor(len(HELD_OUT_SPLITS)) as pool:
        jobs = {split: pool.submit(run, split) for split in HELD_OUT_SPLITS}
        evaluated = {split: job.result() for split, job in jobs.items()}
    for split, (clips, results) in evaluated.items():
        for res, method in zip(results[1:], methods):  # timed after both threads end, alone, batch 1: one thread
            with torch_threads(1):
                res.seconds_per_sentence = time_per_sentence(method, clips, settings)
        out["splits"][split] = {"clips": len(clips), "results": results, "json": results_json(results)}
    write_json_atomic(args.out.resolve() / "eval.json", {**out, "splits": {
        k: {"clips": v["clips"], "results": v["json"]} for k, v in out["splits"].items()}})
    return out


def install(bundle: Path, evaluator_dir: Path, card: Path, results: Path) -> None:
    """Copy the model bundle (+ card, results) to the package's default model folder, the evaluator beside it."""
    from ..pipeline import DEFAULT_MODEL_DIR

    for src, dst in ((bundle, DEFAULT_MODEL_DIR), (evaluator_dir, DEFAULT_MODEL_DIR.parent / "evaluator")):
        tmp = dst.with_name(f".{dst.name}.installing")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(src, tmp)
        if dst == DEFAULT_MODEL_DIR:
            shutil.copy2(card, tmp / "MODEL_CARD.md")
            shutil.copy2(results, tmp / "results.md")
        shutil.rmtree(dst, ignore_errors=True)
        tmp.rename(dst)
