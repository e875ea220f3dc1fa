"""Precision, recall, F1 and precision-at-size against slow, obvious loops."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acav_assets.core.evaluation.metrics import (
    mean_and_spread,
    precision_at_sizes,
    selection_scores,
)


@st.composite
def truth_and_order(draw):
    n = draw(st.integers(1, 40))
    truth = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    order = np.array(draw(st.permutations(list(range(n)))), dtype=np.int64)
    size = draw(st.integers(0, n))
    return truth, order, size


@settings(max_examples=60, deadline=None)
@given(truth_and_order())
def test_selection_scores_match_counting_by_hand(case):
    truth, order, size = case
    selected = order[:size]
    hits = sum(1 for i in selected if truth[i])
    n_true = sum(1 for t in truth if t)
    precision = hits / size if size else 0.0
    recall = hits / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    got = selection_scores(selected, truth)
    assert got.n_selected == size and got.n_true == n_true and got.n_true_selected == hits
    assert got.precision == pytest.approx(precision)
    assert got.recall == pytest.approx(recall)
    assert got.f1 == pytest.approx(f1)


@settings(max_examples=60, deadline=None)
@given(truth_and_order())
def test_precision_at_sizes_matches_a_loop_over_prefixes(case):
    truth, order, _ = case
    sizes, precision = precision_at_sizes(order, truth)
    assert sizes.tolist() == list(range(1, order.size + 1))
    for s, p in zip(sizes, precision, strict=True):
        assert p == pytest.approx(np.mean([truth[i] for i in order[:s]]))


def test_precision_at_chosen_sizes_picks_those_prefixes():
    truth = np.array([True, False, True, True, False])
    sizes, precision = precision_at_sizes([4, 0, 2, 1, 3], truth, sizes=[1, 2, 5])
    assert sizes.tolist() == [1, 2, 5]
    assert precision.tolist() == pytest.approx([0.0, 0.5, 0.6])


def test_selection_rejects_index_outside_the_clips():
    with pytest.raises(ValueError, match="index 7 outside"):
        selection_scores([0, 7], np.array([True, False]))


def test_selection_rejects_repeated_index():
    with pytest.raises(ValueError, match="more than once"):
        selection_scores([1, 1], np.array([True, False]))


def test_truth_must_be_boolean():
    with pytest.raises(ValueError, match="bool"):
        selection_scores([0], np.array([1, 0]))


def test_precision_rejects_size_beyond_the_order():
    with pytest.raises(ValueError, match="sizes must lie"):
        precision_at_sizes([0, 1], np.array([True, False, True]), sizes=[3])


def test_mean_and_spread_uses_the_sample_standard_deviation():
    out = mean_and_spread([0.5, 0.7, 0.9])
    assert out["mean"] == pytest.approx(0.7)
    assert out["std"] == pytest.approx(0.2)
    assert (out["min"], out["max"], out["n"]) == (0.5, 0.9, 3)
    assert mean_and_spread([0.4])["std"] == 0.0
    with pytest.raises(ValueError, match="non-empty"):
        mean_and_spread([])
