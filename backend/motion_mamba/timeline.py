"""Timelines: one motion from consecutive (prompt, seconds) segments, each generated as its own clip and stitched.

The model makes one clip per prompt, at most `max_seconds` long, always starting over the origin and facing +Z. So
every segment is generated as a clip (all in one batched pipeline call: one progress stream, one cancel check) a
little longer than its share, `overlap` seconds, and consecutive clips are joined over that overlap:

1. the next clip is turned about Y and moved on the floor so that its root (x, z) and heading (`heading`) at the
   start of the overlap equal the previous clip's at the same frame (heights stay as generated);
2. joint positions are cross-faded over the overlap with smoothstep weights, so no frame jumps;
3. with `cleanup` (default) the stitched joints are cleaned as one clip (`postprocess.clean_joints`: rigid, feet
   planted across seams too); otherwise rotations and root translation are fitted to them as they are.

The overlap comes from the earlier clip's tail where the model's length allows, otherwise from the next clip's
head; only two neighbouring segments both at `max_seconds` meet without one (a hard cut, still aligned). The result
has exactly sum(round(seconds * fps)) frames. Segment 0 keeps the sample's seed, so a one-segment timeline is the
plain clip of its prompt; later segments draw their own noise from (seed, index).

A single prompt of sequenced actions ("a person hops twice, then squats") is a timeline too: `sequence_jobs` cuts
it into its parts (`prompts.split_sequence`) with even shares of its length, and the pipeline and the evaluation's
generator both generate those parts and `join` them with `stitch`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from .features import facing_across
from .motion import Motion
from .pipeline import duration_frames
from .postprocess import finish
from .prompts import split_sequence
from .skeleton import Skeleton

DEFAULT_OVERLAP = 0.5  # seconds; long enough to blend two steps, short next to the 1 s minimum segment
HEADING_RADIUS = 10  # frames each side of the one where a heading is measured (half a gait cycle)


@dataclass(frozen=True)
class Window:
    """Where one segment's generated clip sits on the timeline: frames [start, start + frames)."""

    start: int
    frames: int


def segment_frames(segments: Sequence[tuple[str, float]], fps: float, min_seconds: float,
                   max_seconds: float) -> list[int]:
    """Each segment's share of the timeline in frames, rounded as the pipeline rounds a clip's length."""
    if not isinstance(segments, (list, tuple)) or not segments:
        raise ValueError("segments must be a non-empty list of (prompt, seconds)")
    frames = []
    for i, seg in enumerate(segments):
        if not isinstance(seg, (list, tuple)) or len(seg) != 2:
            raise ValueError(f"segments[{i}] must be a (prompt, seconds) pair, got {seg!r}")
        prompt, s = seg
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError(f"segments[{i}]: the prompt must be a non-empty string, got {prompt!r}")
        frames.append(duration_frames(s, f"segments[{i}]: seconds", fps, min_seconds, max_seconds))
    return frames


def plan(frames: Sequence[int], max_frames: int, overlap: int) -> list[Window]:
    """The clip window of each segment: its share plus the overlap with each neighbour (tail first, then head).

    The overlap is at most half the shortest segment, so two overlaps never touch the same frame."""
    overlap = max(0, min(overlap, min(frames) // 2))
    head, tail = [0] * len(frames), [0] * len(frames)
    for i in range(len(frames) - 1):
        tail[i] = min(overlap, max_frames - frames[i] - head[i])
        head[i + 1] = min(overlap - tail[i], max_frames - frames[i + 1])
    starts = np.concatenate([[0], np.cumsum(frames)[:-1]])
    return [Window(int(s) - h, h + n + t) for s, n, h, t in zip(starts, frames, head, tail)]


def segment_seed(seed: int, index: int) -> int:
    """Segment 0 keeps the sample's seed; later ones get their own so that a repeated prompt is not the same clip."""
    if index == 0:
        return int(seed)
    return int(np.random.SeedSequence([int(seed), index]).generate_state(1, np.uint64)[0]) >> 1  # < 2^63


Job = tuple[str, int, int]  # one clip the model generates: (prompt, frames, seed)
Layout = list[tuple[int, list[Window] | None]]  # per prompt: its first job, and its parts' windows if it has parts


def sequence_jobs(prompts: Sequence[str], frames: Sequence[int], seeds: Sequence[int], fps: float,
                  min_seconds: float, max_frames: int, split: bool = True,
                  overlap: float = DEFAULT_OVERLAP) -> tuple[list[Job], Layout]:
    """The clips that make `prompts`: one per prompt, or (`split`) for a prompt of sequenced actions one per part
    (even shares of its frames plus the overlaps, seeds as a timeline's segments), unless a share would be under
    `min_seconds`.

    Why: the model learns the actions and the orders it saw; an order it never saw comes out as a blend of the two,
    while each part alone is in its training distribution (docs/model.md *Sequenced prompts*)."""
    jobs: list[Job] = []
    layout: Layout = []
    for prompt, n, seed in zip(prompts, frames, seeds):
        parts = split_sequence(prompt) if split else [prompt]
        k = len(parts)
        if k == 1 or n // k < round(min_seconds * fps):
            layout.append((len(jobs), None))
            jobs.append((prompt, int(n), int(seed)))
            continue
        windows = plan([n // k + (i < n % k) for i in range(k)], max_frames, round(overlap * fps))
        layout.append((len(jobs), windows))
        jobs += [(part, w.frames, segment_seed(seed, i)) for i, (part, w) in enumerate(zip(parts, windows))]
    return jobs, layout


def join(layout: Layout, clips: Sequence[np.ndarray], skeleton: Skeleton) -> list[np.ndarray]:
    """Per prompt of `sequence_jobs`, its clip's joints, or its parts' clips stitched into one."""
    return [np.asarray(clips[first]) if windows is None else
            stitch(clips[first:first + len(windows)], windows, skeleton) for first, windows in layout]


def heading(joints: np.ndarray, frame: int, skeleton: Skeleton, radius: int = HEADING_RADIUS) -> float:
    """Yaw (radians about +Y, 0 = facing +Z) of the body at `frame`.

    Per frame, the facing of `features` (the horizontal normal of the hip plus shoulder "across" vector); then a
    straight line fitted to it over `radius` frames each side, within the clip. The line averages out the torso's
    sway in a step, and unlike the features' centred Gaussian it does not lag at a clip's ends, where seams are.
    """
    lo, hi = max(0, frame - radius), min(len(joints), frame + radius + 1)
    across = facing_across(joints[lo:hi], skeleton)
    yaw = np.unwrap(np.arctan2(across[:, 2], -across[:, 0]))  # forward = Y x across = (a_z, 0, -a_x)
    if len(yaw) == 1:
        return float(yaw[0])
    return float(np.polyfit(np.arange(lo, hi) - frame, yaw, 1)[1])


def _align(clip: np.ndarray, ref: np.ndarray, frame: int, skeleton: Skeleton) -> np.ndarray:
    """`clip` turned about Y and moved on the floor so its frame 0 has `ref[frame]`'s root (x, z) and heading."""
    turn = heading(ref, frame, skeleton) - heading(clip, 0, skeleton)
    c, s = np.cos(turn), np.sin(turn)
    v = clip - clip[0, 0] * np.array([1.0, 0.0, 1.0])
    x, z = v[..., 0] * c + v[..., 2] * s, -v[..., 0] * s + v[..., 2] * c  # raises the yaw by `turn`
    return np.stack([x + ref[frame, 0, 0], v[..., 1], z + ref[frame, 0, 2]], axis=-1)


def stitch(clips: Sequence[np.ndarray], windows: Sequence[Window], skeleton: Skeleton) -> np.ndarray:
    """Join clips (each (window.frames, J, 3)) into one (T, J, 3) timeline: align, then cross-fade the overlaps."""
    total = windows[-1].start + windows[-1].frames
    out = np.empty((total,) + clips[0].shape[1:])
    prev = np.asarray(clips[0], dtype=np.float64)
    out[: windows[0].frames] = prev
    for a, b, clip in zip(windows, windows[1:], clips[1:]):
        k = b.start - a.start  # the overlap starts at this frame of the previous clip (its end at a cut)
        cur = _align(np.asarray(clip, dtype=np.float64), prev, min(k, len(prev) - 1), skeleton)
        w = a.frames - k
        x = (np.arange(w) + 1.0) / (w + 1.0)
        weight = (x * x * (3.0 - 2.0 * x))[:, None, None]
        out[b.start : b.start + w] = (1.0 - weight) * prev[k:] + weight * cur[:w]
        out[b.start + w : b.start + b.frames] = cur[w:]
        prev = cur
    return out


def generate_timeline(
    pipeline: Any,
    segments: Sequence[tuple[str, float]],
    seeds: Sequence[int],
    *,
    guidance: float | None = None,
    steps: int | None = None,
    solver: str = "dpm++",
    callback: Callable[[int, int], None] | None = None,
    overlap: float = DEFAULT_OVERLAP,
    cleanup: bool = True,
    split: bool = True,
) -> list[Motion]:
    """One stitched `Motion` per seed from `segments` [(prompt, seconds), ...], in one `pipeline` call.

    `callback(step, total)` is the pipeline's: it reports every denoising step and may raise to cancel. `split`:
    a segment's prompt of sequenced actions is a timeline of its parts in turn (the pipeline's `split`)."""
    fps, max_frames = pipeline.fps, pipeline.max_frames
    frames = segment_frames(segments, fps, pipeline.min_seconds, pipeline.max_seconds)
    windows = plan(frames, max_frames, round(overlap * fps))
    prompts = [p for p, _ in segments]
    clips = pipeline(
        prompts * len(seeds),
        [w.frames / fps for w in windows] * len(seeds),
        [segment_seed(seed, i) for seed in seeds for i in range(len(segments))],
        guidance=guidance,
        steps=steps,
        solver=solver,
        callback=callback,
        cleanup=False,  # cleaned once, after stitching
        split=split,
    )
    motions = []
    for n, seed in enumerate(seeds):
        mine = clips[n * len(segments) : (n + 1) * len(segments)]
        skel = mine[0].skel
        joints, root_translation, rotations = finish(stitch([m.joints for m in mine], windows, skel), skel, cleanup)
        extras = {**mine[0].extras, "cleanup": bool(cleanup), "segment_prompts": np.asarray(prompts),
                  "segment_frames": np.asarray(frames)}
        motions.append(
            Motion(
                joints=joints,
                fps=mine[0].fps,
                skeleton=mine[0].skeleton,
                rotations=rotations,
                root_translation=root_translation,
                text=" / ".join(prompts),
                seed=int(seed),
                model=mine[0].model,
                extras=extras,
            )
        )
    return motions
