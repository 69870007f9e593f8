"""The evaluation protocol end to end: test clips -> (real | generated) motion -> evaluator embeddings -> metrics,
repeated R times with fresh captions, crops and seeds, reported as mean +- 95% CI (T2M `final_evaluations.py`).

Per repetition, as T2M: every test clip gets one of its captions at random and a length cropped to a multiple of
4 (`crop_to_unit`); generated motion is made for that caption and length. FID compares against the real clips'
embeddings from a separate random crop pass, which is why "Real" scores a small non-zero FID. MultiModality uses
`mm_samples` clips with `mm_repeats` generations each (T2M: 100 x 30).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence

import numpy as np
import torch
from tqdm import tqdm

from . import metrics
from .evaluator import Evaluator, crop_to_unit


class Generator(Protocol):
    """A text-to-motion method: raw dataset-unit features (T_i, F) for each (caption, frames, seed)."""

    name: str

    def __call__(self, captions: Sequence[str], frames: Sequence[int], seeds: Sequence[int]) -> list[np.ndarray]: ...


@dataclass
class EvalSettings:
    repeats: int = 20  # REPLICATION_TIMES
    mm_samples: int = 100  # MM_NUM_SAMPLES (0 disables MultiModality)
    mm_repeats: int = 30  # MM_NUM_REPEATS
    max_frames: int = 196
    seed: int = 0
    timing_sentences: int = 10  # batch-1 generations timed for "time per sentence" (after one warm-up)
    skeleton: str = "smpl22"
    fps: float = 20.0


@dataclass
class MethodResult:
    name: str
    summary: dict[str, tuple[float, float]]  # metric -> (mean, CI half-width)
    repetitions: list[dict[str, float]] = field(default_factory=list)
    seconds_per_sentence: float | None = None
    physical: dict[str, float] = field(default_factory=dict)  # metrics_physical.summarize, first repetition


def physical_summary(clips: Sequence[np.ndarray], skeleton: str, fps: float) -> dict[str, float]:
    """Foot skating, floor penetration, jerk, bone-length error of feature clips, decoded to joints in metres."""
    from ..features import features_to_joints
    from ..metrics_physical import physical_report, summarize
    from ..skeleton import get_skeleton

    skel = get_skeleton(skeleton)
    reports = [physical_report(features_to_joints(np.asarray(c, np.float64), skel) / skel.unit_scale, fps, skel)
               for c in clips]
    return summarize(reports)


def _pad(clips: Sequence[np.ndarray]) -> tuple[np.ndarray, list[int]]:
    lengths = [len(c) for c in clips]
    out = np.zeros((len(clips), max(lengths), clips[0].shape[-1]), np.float32)
    for i, c in enumerate(clips):
        out[i, : len(c)] = c
    return out, lengths


def _embed(evaluator: Evaluator, clips: Sequence[np.ndarray]) -> np.ndarray:
    feats, lengths = _pad(clips)
    return evaluator.encode_motion(feats, lengths)


def _draw(clips, rng: np.random.Generator, max_frames: int) -> tuple[list[str], list[str], list[np.ndarray]]:
    """One random caption (and its "word/POS" tokens, if the clips have them) and one T2M crop per clip."""
    picks = [int(rng.integers(len(c.captions))) for c in clips]
    captions = [c.captions[k] for c, k in zip(clips, picks)]
    tokens = [c.tokens[k] if getattr(c, "tokens", None) else "" for c, k in zip(clips, picks)]
    crops = [crop_to_unit(c.features[:max_frames], rng) for c in clips]
    return captions, tokens, crops


def evaluate(evaluator: Evaluator, clips: Sequence, methods: Sequence["Generator | Reconstruction"],
             settings: EvalSettings, progress: bool = True, log: Callable[[str], None] = print) -> list[MethodResult]:
    """Rows for "Real" and each method, over `clips` (objects with `.features` (T, F) and `.captions`)."""
    if len(clips) < metrics.R_PRECISION_GROUP:
        raise ValueError(f"the evaluation split has {len(clips)} clips; R-Precision needs at least "
                         f"{metrics.R_PRECISION_GROUP}")
    if len(clips) < metrics.DIVERSITY_TIMES:
        log(f"note: {len(clips)} test clips < {metrics.DIVERSITY_TIMES}: Diversity uses {len(clips)} pairs")
    names = ["Real"] + [m.name for m in methods]
    reps: dict[str, list[metrics.MetricSet]] = {n: [] for n in names}
    physical: dict[str, dict[str, float]] = {}
    bar = tqdm(total=settings.repeats * len(names), disable=not progress, desc="evaluate", dynamic_ncols=True)
    for r in range(settings.repeats):
        rng = np.random.default_rng([settings.seed, r])
        _, _, reference = _draw(clips, rng, settings.max_frames)  # FID reference pass
        real_emb = _embed(evaluator, reference)
        captions, tokens, crops = _draw(clips, rng, settings.max_frames)
        # the official T2M text encoder reads HumanML3D's "word/POS" tokens; generation always uses the caption
        text_emb = evaluator.encode_text(tokens if getattr(evaluator, "wants_tokens", False) else captions)
        frames = [len(c) for c in crops]
        reps["Real"].append(metrics.compute_metrics(text_emb, _embed(evaluator, crops), real_emb, rng))
        if r == 0:
            physical["Real"] = physical_summary(crops, settings.skeleton, settings.fps)
        bar.update(1)
        # every method gets the same seeds and metric draws (groups, pairs), whatever its place in the list: a
        # paired comparison then differs by the models only (before, a model's R@3 moved by ~0.03 with its place)
        seeds = [int(x) for x in rng.integers(0, 2**31, len(clips))]
        for m in methods:
            method_rng = np.random.default_rng([settings.seed, r, 1])
            recon = isinstance(m, Reconstruction)
            generated = m(crops) if recon else m(captions, frames, seeds)
            if r == 0:
                physical[m.name] = physical_summary(generated, settings.skeleton, settings.fps)
            gen = _embed(evaluator, generated)
            mm = None if recon else _multimodality_embeddings(evaluator, m, captions, frames, method_rng, settings)
            reps[m.name].append(metrics.compute_metrics(text_emb, gen, real_emb, method_rng, mm))
            bar.update(1)
    bar.close()
    results = []
    for name in names:
        results.append(MethodResult(name, metrics.summarise(reps[name]), [x.as_dict() for x in reps[name]],
                                    physical=physical[name]))
    for res, m in zip(results[1:], methods):
        res.seconds_per_sentence = time_per_sentence(m, clips, settings)
    return results


def _multimodality_embeddings(evaluator: Evaluator, method: Generator, captions: list[str], frames: list[int],
                              rng: np.random.Generator, settings: EvalSettings) -> np.ndarray | None:
    if settings.mm_samples <= 0 or settings.mm_repeats < 2:
        return None
    idx = rng.choice(len(captions), min(settings.mm_samples, len(captions)), replace=False)
    caps = [captions[i] for i in idx for _ in range(settings.mm_repeats)]
    lens = [frames[i] for i in idx for _ in range(settings.mm_repeats)]
    seeds = [int(x) for x in rng.integers(0, 2**31, len(caps))]
    emb = _embed(evaluator, method(caps, lens, seeds))
    return emb.reshape(len(idx), settings.mm_repeats, -1)


def time_per_sentence(method: "Generator | Reconstruction", clips: Sequence, settings: EvalSettings) -> float | None:
    """Seconds per sentence at batch 1 (AITS-style: text encoding, sampling and decoding; one warm-up call); None
    for a reconstruction, which reads no sentence."""
    n = min(settings.timing_sentences, len(clips))
    if n <= 0 or isinstance(method, Reconstruction):
        return None
    if isinstance(method, BundleGenerator):  # time the sampling, not the cache a raw row shares with its cleaned row
        method = copy.copy(method)
        method.samples = SampleCache(size=0)
    method([clips[0].captions[0]], [min(len(clips[0].features), settings.max_frames)], [0])
    t0 = time.perf_counter()
    for i in range(n):
        method([clips[i].captions[0]], [min(len(clips[i].features), settings.max_frames)], [i])
    return (time.perf_counter() - t0) / n


class SampleCache:
    """The last few sampling calls' decoded features, keyed by everything that decides them. A model's cleaned and
    raw rows get the same captions, lengths and seeds, so the raw row is the cleaned row's samples before the
    clean-up: sharing a cache between them (`BundleGenerator(samples=...)`) samples once for both."""

    def __init__(self, size: int = 2):  # a row samples twice per repetition: its clips, then MultiModality's
        self.size = size
        self._entries: dict[tuple, list[np.ndarray]] = {}

    def get(self, key: tuple, make: Callable[[], list[np.ndarray]]) -> list[np.ndarray]:
        if key in self._entries:
            return self._entries[key]
        value = self._entries[key] = make()
        while len(self._entries) > self.size:
            self._entries.pop(next(iter(self._entries)))
        return value


class BundleGenerator:
    """Generates with a `MotionPipeline`'s model, returning de-normalised features (no joint recovery needed)."""

    def __init__(self, pipe: "MotionPipeline", name: str | None = None, guidance: float | None = None,  # noqa: F821
                 steps: int | None = None, solver: str = "dpm++", batch_size: int = 64, cleanup: bool = True,
                 split: bool = True, samples: SampleCache | None = None):
        self.pipe = pipe
        self.samples = samples or SampleCache()
        self.cleanup = cleanup  # evaluate what the pipeline hands out (postprocess.clean_joints) or the raw decode
        self.split = split  # sequenced prompts as timelines of their parts, as the pipeline does, or in one pass
        self.name = name or pipe.info["name"]
        self.guidance = guidance
        self.steps = steps
        self.solver = solver
        self.batch_size = batch_size
        from ..train.text_cache import TextCache

        self.text = TextCache(pipe.text_encoder, pipe.config.denoiser.text_segments)

    @torch.inference_mode()
    def __call__(self, captions: Sequence[str], frames: Sequence[int], seeds: Sequence[int]) -> list[np.ndarray]:
        from ..timeline import sequence_jobs

        pipe = self.pipe
        frames = [min(int(f), pipe.max_frames) for f in frames]
        jobs, layout = sequence_jobs(captions, frames, seeds, pipe.fps, pipe.min_seconds, pipe.max_frames, self.split)
        key = (self.guidance, self.steps, self.solver, self.batch_size, tuple(map(tuple, jobs)))
        raw = self.samples.get(key, lambda: self._decoded(jobs))
        return [self._finish(raw[first]) if windows is None else self._joined(raw[first:first + len(windows)], windows)
                for first, windows in layout]

    def _decoded(self, jobs: Sequence[tuple[str, int, int]]) -> list[np.ndarray]:
        """Each (caption, frames, seed) job sampled and decoded, de-normalised features (frames, F)."""
        pipe, model = self.pipe, self.pipe.model
        raw: list[np.ndarray] = []
        null = self.text.condition([""])[0]
        for i in range(0, len(jobs), self.batch_size):
            batch = jobs[i:i + self.batch_size]
            lens = torch.tensor([n for _, n, _ in batch])
            noise = torch.stack([pipe.initial_noise(s) for _, _, s in batch]).to(pipe.device)
            z = self._sample(noise, self.text.condition([c for c, _, _ in batch]), null)
            feats = model.denormalize_features(model.decode_latent(z, lens.to(pipe.device))).float().cpu().numpy()
            raw.extend(feats[j, : int(n)] for j, n in enumerate(lens))
        return raw

    def _finish(self, features: np.ndarray) -> np.ndarray:
        """The clip's features after the pipeline's clean-up."""
        if not self.cleanup:
            return features
        from ..features import features_to_joints

        skel = self._skeleton()
        return self._features(features_to_joints(features.astype(np.float64), skel) / skel.unit_scale)

    def _joined(self, parts: Sequence[np.ndarray], windows: Sequence) -> np.ndarray:
        """A sequenced prompt's parts stitched into one clip (`timeline.stitch`), cleaned up unless raw."""
        from ..features import features_to_joints
        from ..timeline import stitch

        skel = self._skeleton()
        joints = stitch([features_to_joints(f.astype(np.float64), skel) / skel.unit_scale for f in parts], windows,
                        skel)
        return self._features(joints)

    def _features(self, joints: np.ndarray) -> np.ndarray:
        """Features of joints in metres, cleaned up first if so configured (same length: the last pose is held one
        frame so `joints_to_features`, which drops a frame for velocities, returns as many rows as it was given)."""
        from ..features import joints_to_features
        from ..postprocess import clean_joints

        skel = self._skeleton()
        if self.cleanup:
            joints, _, _ = clean_joints(joints, skel)
        joints = np.concatenate([joints, joints[-1:]]) * skel.unit_scale
        return joints_to_features(joints, skel).astype(np.float32)

    def _skeleton(self):
        from ..skeleton import get_skeleton

        return get_skeleton(self.pipe.config.skeleton)

    def _sample(self, noise: torch.Tensor, text: torch.Tensor, null: torch.Tensor) -> torch.Tensor:
        """`LatentDiffusion.sample` with the whole batch in each denoiser call. The pipeline calls the denoiser per
        sample so a sample never depends on its batch-mates (bit-exact); evaluation only needs the distribution,
        and batching is ~10x faster on a CPU."""
        diffusion = self.pipe.diffusion
        guidance = diffusion.config.guidance_scale if self.guidance is None else float(self.guidance)
        scheduler = diffusion.make_scheduler(self.solver)
        scheduler.set_timesteps(diffusion.default_steps(self.solver) if self.steps is None else self.steps,
                                device=noise.device)
        B = noise.shape[0]
        cond = torch.cat([text, null.expand_as(text)])  # (2B, S, D): conditional rows, then unconditional
        z = noise * scheduler.init_noise_sigma
        for t in scheduler.timesteps:
            z_in = scheduler.scale_model_input(z, t)
            eps = self.pipe.model.denoiser(torch.cat([z_in, z_in]), t.expand(2 * B), cond)
            eps = eps[B:] + guidance * (eps[:B] - eps[B:])  # ε_u + s (ε_c − ε_u)
            z = scheduler.step(eps, t, z).prev_sample
        return z


class Reconstruction:
    """A model's VAE on the evaluated crops themselves, encode (posterior mean) -> decode, raw (MLD's "VAE
    reconstruction" row): the best FID and R-Precision the latent space allows, which no denoiser trained on this
    VAE gets past. It reads motion, not text, so it has no MultiModality and no time per sentence."""

    def __init__(self, pipe: "MotionPipeline", name: str, batch_size: int = 64):  # noqa: F821
        self.pipe, self.name, self.batch_size = pipe, name, batch_size

    @torch.inference_mode()
    def __call__(self, clips: Sequence[np.ndarray]) -> list[np.ndarray]:
        model, device = self.pipe.model, self.pipe.device
        out: list[np.ndarray] = []
        for i in range(0, len(clips), self.batch_size):
            feats, lengths = _pad(clips[i:i + self.batch_size])
            lens = torch.tensor(lengths, device=device)
            z = model.encode_latent(model.normalize_features(torch.from_numpy(feats).to(device)), lens)
            rec = model.denormalize_features(model.decode_latent(z, lens)).float().cpu().numpy()
            out.extend(rec[j, :n] for j, n in enumerate(lengths))
        return out
