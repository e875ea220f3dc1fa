"""The auto size (the share of corresponding candidates, read off backward elimination against
shuffled eliminations) and per-clip contributions against recomputation from scratch."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acav_assets.core.selection import contributions, estimate_share, objective


def planted(n: int, share: float, n_classes: int, k: int, seed: int):
    """Three audio and three visual clusterings that split each class in two at random; a
    share ``share`` of the clips have the audio of their own class."""
    rng = np.random.default_rng(seed)
    visual = rng.integers(0, n_classes, n)
    truth = rng.random(n) < share
    audio = np.where(truth, visual, (visual + rng.integers(1, n_classes, n)) % n_classes)
    columns, labels = [], []
    for modality, source in (("audio", audio), ("visual", visual)):
        for layer in range(3):
            labels.append((source * 2 + rng.integers(0, 2, n)) % k)
            columns.append(f"{modality}_{layer}")
    return np.stack(labels, axis=1), columns, truth


@pytest.mark.parametrize("share", [0.3, 0.5, 0.8])
def test_the_estimated_share_is_near_the_planted_one(share: float) -> None:
    labels, columns, truth = planted(800, share, 10, 16, seed=int(share * 10))
    estimate = estimate_share(labels, columns, seed=1)
    assert estimate.share == pytest.approx(truth.mean(), abs=0.05)  # the goal
    assert estimate.low <= estimate.share <= estimate.high
    assert estimate.size == round(estimate.share * 800) and estimate.candidates == 800
    assert len(estimate.sizes) == len(estimate.trace) == len(estimate.null_trace)
    assert estimate.sizes[0] == 800 and (np.diff(estimate.sizes) < 0).all()


def test_an_estimate_is_refused_on_too_few_candidates() -> None:
    labels, columns, _ = planted(12, 0.5, 3, 4, seed=0)
    with pytest.raises(ValueError, match="too few to estimate"):
        estimate_share(labels, columns)


def test_the_estimate_depends_on_the_seed_only() -> None:
    labels, columns, _ = planted(200, 0.5, 5, 8, seed=4)
    first, again = estimate_share(labels, columns, seed=3), estimate_share(labels, columns, seed=3)
    assert first.summary() == again.summary()
    assert np.array_equal(first.null_trace, again.null_trace)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 30), pairing=st.sampled_from(
    ["bipartite", "combination", "diagonal"]))  # fmt: skip
def test_contributions_equal_recomputation_with_and_without_each_clip(seed, n, pairing):
    rng = np.random.default_rng(seed)
    columns = ["audio_0", "audio_1", "visual_0", "visual_1"]
    ks = [3, 4, 2, 3]
    labels = rng.integers(0, ks, size=(n, 4))
    selected = np.flatnonzero(rng.random(n) < 0.6)
    if len(selected) < 2:
        selected = np.arange(2)
    scores = contributions(labels, columns, selected, ks, pairing=pairing)
    inside = np.isin(np.arange(n), selected)
    for x in range(n):
        with_x = labels[inside | (np.arange(n) == x)]
        without_x = labels[inside & (np.arange(n) != x)]
        expected = len(with_x) * objective(with_x, columns, pairing, "plugin", ks) - len(
            without_x
        ) * objective(without_x, columns, pairing, "plugin", ks)
        assert scores[x] == pytest.approx(expected, abs=1e-9)


def test_corresponding_clips_contribute_more_than_swapped_ones() -> None:
    labels, columns, truth = planted(400, 0.5, 6, 12, seed=2)
    scores = contributions(labels, columns, np.flatnonzero(truth))
    assert np.median(scores[truth]) > 0 > np.median(scores[~truth])
