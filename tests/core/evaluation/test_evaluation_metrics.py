"""Precision, recall, F1, precision-at-size and the best class pairing against slow,
obvious loops."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acav_assets.core.evaluation.metrics import (
    best_pairing_order,
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


def best_pairings_by_hand(visual: list[int], audio: list[int]) -> list[list[int]]:
    """The order of every pairing that holds the most clips (each picture class one sound,
    each sound at most ceil(pictures / sounds) classes), cells largest first."""
    pictures, sounds = sorted(set(visual)), sorted(set(audio))
    capacity = -(-len(pictures) // len(sounds))
    count = {}
    for cell in zip(visual, audio, strict=True):
        count[cell] = count.get(cell, 0) + 1
    best, orders = -1, []
    for choice in itertools.product(sounds, repeat=len(pictures)):
        if max(choice.count(a) for a in sounds) > capacity:
            continue
        cells = sorted(zip(pictures, choice, strict=True), key=lambda c: (-count.get(c, 0), c[0]))
        total = sum(count.get(c, 0) for c in cells)
        kept = [i for c in cells for i in range(len(visual)) if (visual[i], audio[i]) == c]
        order = kept + [i for i in range(len(visual)) if i not in set(kept)]
        if total > best:
            best, orders = total, [order]
        elif total == best:
            orders.append(order)
    return orders


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), max_size=30))
def test_best_pairing_matches_trying_every_pairing(pairs):
    visual, audio = [v for v, _ in pairs], [a for _, a in pairs]
    got = best_pairing_order(np.array(visual, dtype=np.int64), np.array(audio, dtype=np.int64))
    assert got.tolist() in (best_pairings_by_hand(visual, audio) if pairs else [[]])


def test_best_pairing_cannot_find_true_sounds_that_wrong_ones_outnumber():
    visual = np.array([0] * 5 + [1] * 5 + [2] * 4)
    # classes 0 and 1 hear each other's sound more often than their own
    audio = np.array([1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 2, 2, 2, 2])
    truth = visual == audio
    order = best_pairing_order(visual, audio)
    assert order[:11].tolist() == [0, 1, 2, 3, 10, 11, 12, 13, 5, 6, 7]
    assert selection_scores(order[: truth.sum()], truth).precision == 3 / 7


def test_best_pairing_gives_two_pictures_a_sound_when_there_are_half_as_many_sounds():
    visual = np.array([0, 0, 1, 1, 2, 3, 3])
    audio = np.array([0, 0, 0, 0, 1, 1, 1])
    assert best_pairing_order(visual, audio)[:7].tolist() == [0, 1, 2, 3, 5, 6, 4]


def test_best_pairing_rejects_arrays_of_different_lengths():
    with pytest.raises(ValueError, match="one length"):
        best_pairing_order(np.zeros(3, dtype=int), np.zeros(2, dtype=int))
