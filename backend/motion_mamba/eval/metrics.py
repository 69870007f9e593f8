"""The T2M text-to-motion metrics, computed exactly as the HumanML3D evaluation protocol does.

Sources: `EricGuo5513/text-to-motion` `final_evaluations.py` / `utils/metrics.py` and MLD
`mld/models/metrics/{tm2t.py,utils.py,mm.py}`. Everything works on evaluator embeddings (N, D):

- R-Precision top-k: the test pairs are shuffled and split into groups of 32 (the last partial group is dropped,
  as the T2M loader's `drop_last=True`); in each group the 32x32 Euclidean text->motion distance matrix is sorted
  per row and a text scores a hit at k if its own motion is among its k nearest.
- MM-Dist ("matching score"): mean distance of each text to its own motion, over the same groups.
- FID: Frechet distance between Gaussians fitted to generated and real motion embeddings,
  ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)), scipy `sqrtm` with an eps*I fallback.
- Diversity: mean distance between 300 random pairs of motion embeddings (indices drawn twice without replacement).
- MultiModality: per text, mean distance between 10 random pairs of its (30) generations, averaged over texts.
- Repetition: each metric is computed R times (20 in the papers) and reported as mean +- 1.96 * std / sqrt(R),
  with numpy's population std, as `final_evaluations.py` does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

R_PRECISION_GROUP = 32  # `R_size` / the T2M eval batch size
TOP_K = 3
DIVERSITY_TIMES = 300
MM_NUM_TIMES = 10  # pairs per text for MultiModality
CI_Z = 1.96  # 95% normal confidence interval


def euclidean_distance_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, D), (M, D) -> (N, M) Euclidean distances (expanded form as in T2M, clamped at 0 before the sqrt)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    d2 = -2.0 * a @ b.T + np.sum(a * a, axis=1, keepdims=True) + np.sum(b * b, axis=1)[None, :]
    return np.sqrt(np.maximum(d2, 0.0))


def top_k_hits(dist: np.ndarray, top_k: int = TOP_K) -> np.ndarray:
    """(N, N) text->motion distances -> (N, top_k) bool: is motion i among the k nearest of text i.

    Ties are broken by index order (numpy's stable argsort), the same rule as T2M's `np.argsort`."""
    order = np.argsort(dist, axis=1, kind="stable")[:, :top_k]  # (N, k) nearest motion indices
    hit = order == np.arange(dist.shape[0])[:, None]
    return np.cumsum(hit, axis=1) > 0


def r_precision_and_matching(
    text_emb: np.ndarray, motion_emb: np.ndarray, rng: np.random.Generator, top_k: int = TOP_K,
    group: int = R_PRECISION_GROUP,
) -> tuple[np.ndarray, float]:
    """Shuffle the N pairs, split into groups of `group`, return (R-Precision per k (top_k,), MM-Dist)."""
    text_emb, motion_emb = _check_pairs(text_emb, motion_emb)
    n_groups = len(text_emb) // group
    if n_groups == 0:
        raise ValueError(f"R-Precision needs at least {group} text-motion pairs, got {len(text_emb)}")
    perm = rng.permutation(len(text_emb))[: n_groups * group].reshape(n_groups, group)
    hits = np.zeros(top_k)
    matching = 0.0
    for idx in perm:
        dist = euclidean_distance_matrix(text_emb[idx], motion_emb[idx])
        hits += top_k_hits(dist, top_k).sum(axis=0)
        matching += float(np.trace(dist))
    n = n_groups * group
    return hits / n, matching / n


def activation_statistics(emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) -> mean (D,), covariance (D, D) with N-1 normalisation (np.cov, rows are samples)."""
    emb = np.asarray(emb, dtype=np.float64)
    if emb.ndim != 2 or len(emb) < 2:
        raise ValueError(f"FID needs at least 2 embeddings of shape (N, D), got {emb.shape}")
    return emb.mean(axis=0), np.cov(emb, rowvar=False)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                     eps: float = 1e-6) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2); eps*I is added when sqrtm is singular."""
    diff = mu1 - mu2
    covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        # numerical noise gives tiny imaginary parts; a large one means the inputs are broken
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError(f"FID: imaginary component {np.max(np.abs(covmean.imag)):.3g} in sqrtm")
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def fid(gen_emb: np.ndarray, real_emb: np.ndarray) -> float:
    return frechet_distance(*activation_statistics(gen_emb), *activation_statistics(real_emb))


def diversity(motion_emb: np.ndarray, rng: np.random.Generator, times: int = DIVERSITY_TIMES) -> float:
    """Mean distance between `times` random pairs; `times` is capped at N (indices are drawn without replacement)."""
    motion_emb = np.asarray(motion_emb, dtype=np.float64)
    times = min(times, len(motion_emb))
    if times < 2:
        raise ValueError(f"Diversity needs at least 2 motion embeddings, got {len(motion_emb)}")
    first = rng.choice(len(motion_emb), times, replace=False)
    second = rng.choice(len(motion_emb), times, replace=False)
    return float(np.linalg.norm(motion_emb[first] - motion_emb[second], axis=1).mean())


def multimodality(mm_emb: np.ndarray, rng: np.random.Generator, times: int = MM_NUM_TIMES) -> float:
    """(S texts, K generations per text, D) -> mean distance between `times` random pairs of generations per text.

    As T2M, the same pair indices are used for every text."""
    mm_emb = np.asarray(mm_emb, dtype=np.float64)
    if mm_emb.ndim != 3 or mm_emb.shape[1] < 2:
        raise ValueError(f"MultiModality needs (texts, >=2 generations, D) embeddings, got {mm_emb.shape}")
    times = min(times, mm_emb.shape[1])
    first = rng.choice(mm_emb.shape[1], times, replace=False)
    second = rng.choice(mm_emb.shape[1], times, replace=False)
    return float(np.linalg.norm(mm_emb[:, first] - mm_emb[:, second], axis=2).mean())


@dataclass(frozen=True)
class MetricSet:
    """One repetition's metrics for one method (MultiModality is None for real data)."""

    r_precision: tuple[float, ...]  # top-1, top-2, top-3
    fid: float
    mm_dist: float
    diversity: float
    multimodality: float | None = None

    def as_dict(self) -> dict[str, float]:
        out = {f"R@{k + 1}": float(v) for k, v in enumerate(self.r_precision)}
        out.update(FID=self.fid, **{"MM-Dist": self.mm_dist, "Diversity": self.diversity})
        if self.multimodality is not None:
            out["MModality"] = self.multimodality
        return out


def compute_metrics(
    text_emb: np.ndarray, motion_emb: np.ndarray, real_motion_emb: np.ndarray, rng: np.random.Generator,
    mm_emb: np.ndarray | None = None, diversity_times: int = DIVERSITY_TIMES,
) -> MetricSet:
    """All metrics for one repetition: `motion_emb[i]` was generated from (or is the real clip of) `text_emb[i]`;
    `real_motion_emb` are the ground-truth test motions FID compares against."""
    r_prec, mm_dist = r_precision_and_matching(text_emb, motion_emb, rng)
    return MetricSet(
        r_precision=tuple(float(x) for x in r_prec),
        fid=fid(motion_emb, real_motion_emb),
        mm_dist=mm_dist,
        diversity=diversity(motion_emb, rng, diversity_times),
        multimodality=None if mm_emb is None else multimodality(mm_emb, rng),
    )


def mean_and_ci(values: list[float] | np.ndarray) -> tuple[float, float]:
    """R repeated values -> (mean, half-width of the 95% interval 1.96 * std / sqrt(R)), T2M's convention."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        raise ValueError("no repetitions to summarise")
    return float(v.mean()), float(CI_Z * v.std() / np.sqrt(v.size))


def summarise(repetitions: list[MetricSet]) -> dict[str, tuple[float, float]]:
    """Metric name -> (mean, 95% CI half-width) over repetitions."""
    dicts = [r.as_dict() for r in repetitions]
    return {k: mean_and_ci([d[k] for d in dicts]) for k in dicts[0]}


def _check_pairs(text_emb: np.ndarray, motion_emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(text_emb, dtype=np.float64)
    m = np.asarray(motion_emb, dtype=np.float64)
    if t.ndim != 2 or m.ndim != 2 or t.shape != m.shape:
        raise ValueError(f"text and motion embeddings must both be (N, D), got {t.shape} and {m.shape}")
    return t, m
