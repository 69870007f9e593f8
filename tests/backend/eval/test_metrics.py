"""The T2M metrics against hand-computed values and the two sanity anchors of the protocol:
identical feature sets give FID 0, and text-motion pairs that do not belong together give chance R-Precision."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from motion_mamba.eval import metrics as M


def test_distance_matrix_matches_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(7, 5)), rng.normal(size=(4, 5))
    np.testing.assert_allclose(M.euclidean_distance_matrix(a, b), cdist(a, b), atol=1e-9)
    assert np.all(M.euclidean_distance_matrix(a, a).diagonal() < 1e-6)


def test_top_k_hits_by_hand():
    # text 0's motion is nearest; text 1's is 2nd nearest; text 2's is 3rd nearest
    dist = np.array([[0.1, 0.5, 0.9],
                     [0.2, 0.15, 0.1],
                     [0.1, 0.2, 0.3]])
    hits = M.top_k_hits(dist, 3)
    assert hits.tolist() == [[True, True, True], [False, True, True], [False, False, True]]


def test_r_precision_perfect_pairs_and_matching_score():
    rng = np.random.default_rng(1)
    emb = rng.normal(size=(64, 16))
    r, mm = M.r_precision_and_matching(emb, emb, rng)
    np.testing.assert_allclose(r, [1.0, 1.0, 1.0])
    assert mm == pytest.approx(0.0, abs=1e-6)
    # a constant offset of length 2 between every text and its motion: MM-Dist is exactly 2
    shift = np.zeros(16)
    shift[3] = 2.0
    _, mm = M.r_precision_and_matching(emb, emb + shift, rng)
    assert mm == pytest.approx(2.0, abs=1e-9)


def test_r_precision_of_unrelated_pairs_is_chance():
    rng = np.random.default_rng(2)
    text = rng.normal(size=(32 * 300, 8))
    motion = text[rng.permutation(len(text))]  # every text paired with someone else's motion
    r, _ = M.r_precision_and_matching(text, motion, rng)
    np.testing.assert_allclose(r, np.array([1, 2, 3]) / 32, atol=0.012)


def test_r_precision_drops_the_partial_group_and_needs_one_group():
    rng = np.random.default_rng(3)
    with pytest.raises(ValueError, match="at least 32"):
        M.r_precision_and_matching(np.zeros((31, 4)), np.zeros((31, 4)), rng)
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        M.r_precision_and_matching(np.zeros((40, 4)), np.zeros((40, 5)), rng)


def test_fid_identical_sets_is_zero():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(500, 32)) @ rng.normal(size=(32, 32))
    assert abs(M.fid(x, x)) < 1e-6


def test_fid_by_hand():
    # A: mean 0, covariance diag(2/3, 2/3) (4 points, N-1 normalisation); B = 2A + (3, 4)
    a = np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
    b = 2 * a + np.array([3.0, 4.0])
    # |mu|^2 = 25; Tr(S1 + S2 - 2 sqrt(S1 S2)) = 2 * (2/3 + 8/3 - 2 * 4/3) = 4/3
    assert M.fid(a, b) == pytest.approx(25 + 4 / 3, abs=1e-9)


def test_fid_singular_covariance_uses_eps_fallback():
    # 3 points in 8 dimensions: rank-deficient covariances must still give a finite, non-negative value
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(3, 8)), rng.normal(size=(3, 8))
    value = M.fid(a, b)
    assert np.isfinite(value) and value > 0


def test_diversity_scale_and_degenerate_set():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2000, 512))  # distance between two iid N(0, I_512) points ~ sqrt(2 * 512) = 32
    assert M.diversity(x, rng) == pytest.approx(32.0, rel=0.02)
    assert M.diversity(np.ones((400, 3)), rng) == 0.0
    # two points 5 apart: a random pair differs half the time -> mean 2.5 over many draws
    two = np.array([[0.0, 0.0], [3.0, 4.0]])
    assert np.mean([M.diversity(two, rng) for _ in range(4000)]) == pytest.approx(2.5, abs=0.1)


def test_multimodality_by_hand():
    rng = np.random.default_rng(7)
    same = np.repeat(rng.normal(size=(5, 1, 4)), 30, axis=1)  # every text: 30 identical generations
    assert M.multimodality(same, rng) == 0.0
    # generations alternate between two points 3 apart: pairs differ with probability 1/2 -> 1.5 on average
    alt = np.zeros((200, 30, 2))
    alt[:, 1::2, 0] = 3.0
    assert np.mean([M.multimodality(alt, rng) for _ in range(300)]) == pytest.approx(1.5, abs=0.1)


def test_mean_and_ci_t2m_convention():
    mean, ci = M.mean_and_ci([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5
    assert ci == pytest.approx(1.96 * np.sqrt(1.25) / 2)  # population std, sqrt(R)


def test_compute_metrics_on_real_data_against_itself():
    rng = np.random.default_rng(8)
    motion = rng.normal(size=(320, 16))
    text = motion + 0.01 * rng.normal(size=motion.shape)
    reps = [M.compute_metrics(text, motion, motion, rng) for _ in range(3)]
    summary = M.summarise(reps)
    assert summary["R@1"][0] == 1.0 and summary["R@3"][0] == 1.0
    assert abs(summary["FID"][0]) < 1e-6
    assert summary["Diversity"][0] == pytest.approx(np.sqrt(2 * 16), rel=0.1)
    assert "MModality" not in summary
