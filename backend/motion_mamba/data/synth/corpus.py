"""The procedural corpus: N captioned clips in the HumanML3D layout, deterministic per (seed, clip index).

Splits are built for honest evaluation:
- train (80%) and val (5%) never contain a held-out caption template/connector or a held-out action pair;
- test "phrasing" clips (7.5%) are worded only with held-out templates and connectors (actions and orders
  all seen in training);
- test "composition" clips (7.5%) chain actions in an order (a, b) that never appears in train/val.
`test_heldout.csv` records the kind of every test clip; `meta.jsonl` the actions and parameters of every clip.
Held-out pairs are a fixed hash of the family names, so they do not depend on the seed or the corpus size.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...features import canonicalize, joints_to_features
from ..layout import FeatureStats, LayoutWriter, text_line, write_clip
from . import captions as cap
from .actions import FAMILIES
from .compose import Action, synthesize

SPLIT_FRACTIONS = (("train", 0.80), ("val", 0.05), ("phrasing", 0.075), ("composition", 0.075))
HELD_OUT_PAIR_PERCENT = 10
CAPTIONS_PER_CLIP = 3
_NAMES = sorted(FAMILIES)
_WEIGHTS = np.array([0.4 if n == "idle" else 1.0 for n in _NAMES]) / sum(0.4 if n == "idle" else 1.0 for n in _NAMES)


def held_out_pair(a: str, b: str) -> bool:
    """Is "a then b" a composition reserved for the test split?"""
    return zlib.crc32(f"{a}>{b}".encode()) % 100 < HELD_OUT_PAIR_PERCENT


HELD_OUT_PAIRS = [(a, b) for a in _NAMES for b in _NAMES if a != b and held_out_pair(a, b)]


def _has_held_out_pair(seq: list[str]) -> bool:
    return any(held_out_pair(a, b) for a, b in zip(seq[:-1], seq[1:]))


def _kind(seed: int, index: int) -> str:
    u = np.random.default_rng([seed, index, 1]).random()
    for kind, frac in SPLIT_FRACTIONS:
        if u < frac:
            return kind
        u -= frac
    return SPLIT_FRACTIONS[-1][0]


def _sequence(kind: str, rng: np.random.Generator) -> list[str]:
    if kind == "composition":
        a, b = HELD_OUT_PAIRS[int(rng.integers(len(HELD_OUT_PAIRS)))]
        seq = [a, b]
        if rng.random() < 0.3:
            c = _NAMES[int(rng.choice(len(_NAMES), p=_WEIGHTS))]
            seq = [c] + seq if rng.random() < 0.5 else seq + [c]
        return seq if all(x != y for x, y in zip(seq[:-1], seq[1:])) else [a, b]
    while True:
        k = int(rng.choice([1, 2, 3], p=[0.35, 0.4, 0.25]))
        seq = [_NAMES[int(i)] for i in rng.choice(len(_NAMES), size=k, p=_WEIGHTS)]
        if all(x != y for x, y in zip(seq[:-1], seq[1:])) and not _has_held_out_pair(seq):
            return seq


def _captions(actions: list[Action], kind: str, rng: np.random.Generator) -> tuple[list[str], list[dict]]:
    """Distinct captions (up to 3) and, per caption, the template and connector ids it was built from."""
    held = kind == "phrasing"
    out: list[str] = []
    used: list[dict] = []
    for _ in range(50):
        subject = cap.SUBJECTS[int(rng.integers(len(cap.SUBJECTS)))]
        tids = [int(rng.choice(cap.held_out_templates(a.family) if held else cap.train_templates(a.family)))
                for a in actions]
        phrases = [cap.verb_phrase(a.family, t, a.params, subject, rng) for a, t in zip(actions, tids)]
        conns = cap.held_out_connectors() if held else cap.train_connectors()
        cids = [int(rng.choice(conns)) for _ in phrases[1:]]
        text = cap.caption(subject, phrases, cids)
        if text not in out:
            out.append(text)
            used.append({"templates": tids, "connectors": cids})
        if len(out) == CAPTIONS_PER_CLIP:
            break
    return out, used


@dataclass
class Clip:
    id: str
    split: str  # train / val / test
    kind: str  # train / val / phrasing / composition
    actions: list[Action]
    joints: np.ndarray  # (T, 22, 3) canonical, float32
    captions: list[str]
    grammar: list[dict]  # per caption: the template ids (one per action) and connector ids used

    def meta(self) -> dict:
        return {"id": self.id, "split": self.split, "kind": self.kind, "frames": int(len(self.joints)),
                "actions": [a.to_json() for a in self.actions], "captions": self.captions, "grammar": self.grammar}


def make_clip(seed: int, index: int) -> Clip:
    """Clip `index` of the corpus with `seed`: the same arrays and captions on every machine and worker count."""
    kind = _kind(seed, index)
    rng = np.random.default_rng([seed, index, 2])
    while True:
        actions, joints = synthesize(_sequence(kind, rng), rng)
        # a chain cut short to fit 196 frames may lose its held-out pair: a composition clip must keep one
        if kind != "composition" or _has_held_out_pair([a.family for a in actions]):
            break
    joints = canonicalize(joints).astype(np.float32)
    split = kind if kind in ("train", "val") else "test"
    return Clip(f"{index:06d}", split, kind, actions, joints, *_captions(actions, kind, rng))


def _work(job: tuple[str, int, int]):
    root, seed, index = job
    clip = make_clip(seed, index)
    feats = joints_to_features(clip.joints)
    lines = [text_line(c, cap.tokens(c)) for c in clip.captions]
    write_clip(Path(root), clip.id, clip.joints, feats, lines)
    f = feats.astype(np.float64)
    stats = (len(f), f.sum(0), (f * f).sum(0)) if clip.split == "train" else None
    return clip.meta(), stats


def generate(out: str | Path, clips: int, seed: int = 0, workers: int = 2, progress: bool = True,
             overwrite: bool = False) -> dict:
    """Write `clips` clips to `out` in the HumanML3D layout; returns a summary (counts per split and kind)."""
    if clips < 1:
        raise ValueError(f"--clips must be at least 1, got {clips}")
    writer = LayoutWriter(out, overwrite=overwrite)
    stats = FeatureStats(263)
    metas: list[dict] = []
    jobs = [(str(writer.root), seed, i) for i in range(clips)]
    try:
        if workers > 1:
            with mp.get_context("fork").Pool(workers) as pool:
                results = pool.imap_unordered(_work, jobs, chunksize=8)
                metas_stats = _collect(results, clips, progress)
        else:
            metas_stats = _collect(map(_work, jobs), clips, progress)
        for meta, st in metas_stats:
            metas.append(meta)
            if st is not None:
                stats.merge(*st)
        if stats.n < 2:  # tiny corpora may have no train clip: fall back to all clips for normalisation
            for meta in metas:
                stats.add(np.load(writer.root / "new_joint_vecs" / f"{meta['id']}.npy"))
        mean, std = stats.mean_std()
        metas.sort(key=lambda m: m["id"])
        splits = {s: [m["id"] for m in metas if m["split"] == s] for s in ("train", "val", "test")}
        heldout = "id,kind\n" + "".join(f"{m['id']},{m['kind']}\n" for m in metas if m["split"] == "test")
        extra = {"meta.jsonl": "".join(json.dumps(m) + "\n" for m in metas), "test_heldout.csv": heldout}
        writer.commit(splits, mean, std, extra)
    except BaseException:
        writer.abort()
        raise
    kinds = {k: sum(m["kind"] == k for m in metas) for k, _ in SPLIT_FRACTIONS}
    return {"out": str(out), "clips": clips, "seed": seed, **{s: len(v) for s, v in splits.items()}, "kinds": kinds}


def _collect(results, total: int, progress: bool) -> list:
    if progress:
        from tqdm import tqdm

        results = tqdm(results, total=total, desc="synth", unit="clip")
    return list(results)
