"""Ranking baselines: CCA against the textbook eigenproblem, rankings on planted data."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acav_assets.core.evaluation.baselines import (
    CCARanking,
    ContrastiveRanking,
    PCARanking,
    cosine_scores,
    order_by_score,
    random_order,
    random_selection,
    stack_layers,
)
from acav_assets.core.evaluation.metrics import selection_scores


def planted(n: int = 240, n_classes: int = 6, seed: int = 0, noise: float = 1.0):
    """Audio and visual embeddings of a class each; half the clips get another class's audio,
    and the audio lives in a rotated basis so no axis is shared by construction."""
    rng = np.random.default_rng(seed)
    visual_class = rng.integers(0, n_classes, n)
    swapped = rng.random(n) < 0.5
    audio_class = np.where(
        swapped, (visual_class + rng.integers(1, n_classes, n)) % n_classes, visual_class
    )
    A = rng.normal(size=(n_classes, 40))[audio_class] + noise * rng.normal(size=(n, 40))
    V = rng.normal(size=(n_classes, 30))[visual_class] + noise * rng.normal(size=(n, 30))
    A = A @ np.linalg.qr(rng.normal(size=(40, 40)))[0]
    return A.astype(np.float32), V.astype(np.float32), ~swapped


def reference_canonical_correlations(A: np.ndarray, V: np.ndarray) -> np.ndarray:
    """sqrt of the eigenvalues of Caa^-1 Cav Cvv^-1 Cva, largest first."""
    A = A - A.mean(0)
    V = V - V.mean(0)
    caa, cvv, cav = A.T @ A, V.T @ V, A.T @ V
    M = np.linalg.solve(caa, cav) @ np.linalg.solve(cvv, cav.T)
    eig = np.sort(np.clip(np.linalg.eigvals(M).real, 0, None))[::-1]
    return np.sqrt(eig)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 6), st.integers(2, 5))
def test_cca_correlations_match_the_textbook_eigenproblem(seed, da, dv):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(120, 2))
    A = z @ rng.normal(size=(2, da)) + rng.normal(size=(120, da))
    V = z @ rng.normal(size=(2, dv)) + rng.normal(size=(120, dv))
    c = min(da, dv)
    cca = CCARanking(n_components=c, pca_components=max(da, dv), reg=0.0).fit(A, V)
    expected = reference_canonical_correlations(
        A.astype(np.float32).astype(float), V.astype(np.float32).astype(float)
    )[:c]
    np.testing.assert_allclose(cca.canonical_correlations_, expected, atol=1e-4)
    a, v = cca.transform(A, V)
    for i in range(c):
        assert abs(np.corrcoef(a[:, i], v[:, i])[0, 1]) == pytest.approx(expected[i], abs=1e-4)


def test_cca_ranks_corresponding_clips_first():
    A, V, truth = planted()
    cca = CCARanking().fit(A, V)
    precision = selection_scores(cca.order_[: truth.sum()], truth).precision
    assert precision > 0.8


def test_separate_pca_axes_are_not_shared_so_pca_ranking_is_near_chance():
    precisions = []
    for seed in range(3):
        A, V, truth = planted(seed=seed)
        order = PCARanking(n_components=8).fit(A, V).order_
        precisions.append(selection_scores(order[: truth.sum()], truth).precision)
    cca = [
        selection_scores(CCARanking().fit(A, V).order_[: t.sum()], t).precision
        for A, V, t in (planted(seed=s) for s in range(3))
    ]
    assert np.mean(precisions) < 0.7 < np.mean(cca)


def test_contrastive_ranking_scores_every_clip_out_of_fold_and_finds_correspondence():
    A, V, truth = planted(noise=0.8)
    model = ContrastiveRanking(seed=0).fit(A, V)
    assert sorted(model.order_.tolist()) == list(range(A.shape[0]))
    assert len(model.loss_traces_) == 2
    assert all(trace[-10:].mean() < trace[:10].mean() for trace in model.loss_traces_)
    assert selection_scores(model.order_[: truth.sum()], truth).precision > 0.8


def test_contrastive_ranking_is_reproducible_with_a_seed():
    A, V, _ = planted(n=60)
    first = ContrastiveRanking(dim=4, steps=20, seed=3).fit(A, V).scores_
    again = ContrastiveRanking(dim=4, steps=20, seed=3).fit(A, V).scores_
    np.testing.assert_array_equal(first, again)


def test_random_selection_draws_distinct_clips_reproducibly():
    a = random_selection(50, 20, seed=1)
    assert len(set(a.tolist())) == 20 and a.min() >= 0 and a.max() < 50
    np.testing.assert_array_equal(a, random_selection(50, 20, seed=1))
    assert sorted(random_order(7, seed=0).tolist()) == list(range(7))
    with pytest.raises(ValueError, match="size=60"):
        random_selection(50, 60, seed=0)


def test_stack_layers_gives_every_layer_the_same_weight():
    rng = np.random.default_rng(0)
    layers = [rng.normal(size=(30, 4)) * 100, rng.normal(size=(30, 64)) * 0.01]
    X = stack_layers(layers)
    assert X.dtype == np.float32 and X.shape == (30, 68)
    assert (X[:, :4] ** 2).sum() == pytest.approx((X[:, 4:] ** 2).sum(), rel=1e-4)
    with pytest.raises(ValueError, match="layer 1 has shape"):
        stack_layers([np.zeros((3, 2)), np.zeros((4, 2))])


def test_cosine_and_order_helpers_follow_their_definitions():
    a = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    v = np.array([[1.0, 1.0], [0.0, -2.0], [1.0, 0.0]])
    np.testing.assert_allclose(cosine_scores(a, v), [np.sqrt(0.5), -1.0, 0.0])
    assert order_by_score(np.array([0.1, 0.5, 0.5, -1])).tolist() == [1, 2, 0, 3]


def test_rankings_reject_mismatched_or_non_finite_input():
    with pytest.raises(ValueError, match="must be"):
        CCARanking().fit(np.zeros((10, 3)), np.zeros((9, 3)))
    bad = np.ones((10, 3))
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        PCARanking().fit(bad, np.ones((10, 3)))
    with pytest.raises(ValueError, match="n_components=40"):
        CCARanking(n_components=40, pca_components=8).fit(np.ones((10, 3)), np.ones((10, 3)))
    with pytest.raises(ValueError, match="n_folds=1"):
        ContrastiveRanking(n_folds=1).fit(np.ones((10, 3)), np.ones((10, 3)))
