"""Backward elimination (with and without its band) and swap refinement, against plain Python.

The references below follow each search step by step with lists and sorts, scoring clips with
``objectives_after`` (itself checked against recomputation from scratch in test_greedy.py), so
the engine's bookkeeping (band, quota, compaction, ties, ranking) is compared exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acav_assets.core.selection import BatchGreedySelector, SelectionState, objective
from acav_assets.core.selection.pairing import check_labels, resolve_pairs
from acav_assets.core.selection.scoring import cell_index, objectives_after
from acav_assets.core.selection.search import swap_refine

COLUMNS = ["audio_0", "audio_1", "visual_0", "visual_1"]
ESTIMATORS = ["plugin", "miller_madow", "adjusted"]


def _after(state, arr, ids, code):
    t = state.tables
    return dict(zip(ids, objectives_after(t, cell_index(t, arr, ids), -1, code), strict=True))


def _top(values, ids, count):
    return sorted(ids, key=lambda x: (-values[x], x))[:count]


def reference_backward(labels, ks, n_keep, chunk, band, estimator, pairing):
    """Banded backward elimination, one obvious step at a time."""
    code = ESTIMATORS.index(estimator)
    arr, ks_arr = check_labels(labels, COLUMNS, ks)
    state = SelectionState(COLUMNS, ks_arr, resolve_pairs(COLUMNS, pairing))
    alive = list(range(len(labels)))
    state.add(arr, np.array(alive, dtype=np.int64))
    trace = [state.objective(code)]

    def drop(values, ids, count):
        picks = _top(values, ids, count)
        state.remove(arr, np.array(sorted(picks), dtype=np.int64))
        trace.append(state.objective(code))
        return picks

    while len(alive) > n_keep:
        after = _after(state, arr, alive, code)
        step = min(len(alive) - n_keep, max(1, math.ceil(chunk * len(alive))))
        size = min(len(alive), max(step, math.ceil(band * len(alive))))
        if size == len(alive):
            gone = set(drop(after, alive, step))
        else:
            members = sorted(_top(after, alive, size))
            quota = min(len(alive) - n_keep, max(step, size // 2))
            values, gone = after, set()
            while True:
                picks = drop(values, members, min(step, quota))
                gone |= set(picks)
                members = [x for x in members if x not in gone]
                quota -= len(picks)
                if quota <= 0:
                    break
                values = _after(state, arr, members, code)
        alive = [x for x in alive if x not in gone]
    after = _after(state, arr, alive, code)
    return sorted(alive, key=lambda x: (after[x], x)), trace


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(0, 60),
    keep=st.floats(0.0, 1.0),
    chunk=st.sampled_from([0.0, 0.04, 0.1, 0.3]),
    band=st.sampled_from([0.05, 0.2, 0.5, 1.0]),
    estimator=st.sampled_from(ESTIMATORS),
    pairing=st.sampled_from(["bipartite", "combination"]),
)
def test_backward_follows_the_step_by_step_reference(
    seed, n, keep, chunk, band, estimator, pairing
):
    rng = np.random.default_rng(seed)
    ks = [3, 4, 2, 5]
    labels = rng.integers(0, ks, size=(n, 4))
    n_keep = int(round(keep * n))
    sel = BatchGreedySelector(
        n_select=n_keep, strategy="backward", backward_chunk=chunk, backward_band=band,
        estimator=estimator, pairing=pairing,
    ).fit(labels, COLUMNS, ks=ks)  # fmt: skip
    order, trace = reference_backward(labels, ks, n_keep, chunk, band, estimator, pairing)
    assert sel.order_.tolist() == order
    np.testing.assert_array_equal(sel.objective_trace_, trace)


@pytest.mark.parametrize("band", [0.02, 0.1, 1.0])
def test_backward_with_a_band_on_planted_labels_keeps_the_objective(band):
    rng = np.random.default_rng(1)
    n = 3_000
    truth = rng.integers(0, 8, size=n)
    labels = np.stack([(truth + rng.integers(0, 2, size=n)) % 8 for _ in COLUMNS], axis=1)
    swapped = rng.permutation(n)[: n // 2]
    labels[swapped, :2] = labels[rng.permutation(swapped), :2]
    sel = BatchGreedySelector(n_select=600, strategy="backward", backward_band=band)
    sel.fit(labels, COLUMNS)
    plain = BatchGreedySelector(n_select=600, strategy="backward", backward_band=1.0)
    plain.fit(labels, COLUMNS)
    assert sel.objective_ == pytest.approx(objective(labels[sel.order_], COLUMNS), abs=1e-9)
    assert sel.objective_ >= plain.objective_ - 0.01
    is_true = np.ones(n, dtype=bool)
    is_true[swapped] = False
    precision, plain_precision = is_true[sel.order_].mean(), is_true[plain.order_].mean()
    assert precision >= plain_precision - 0.02 and precision > 0.75  # random: 0.5


def test_backward_keeps_prior_state_and_progress_reaches_the_total():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 4, size=(400, 4))
    first = BatchGreedySelector(n_select=50, strategy="backward").fit(labels[:200], COLUMNS)
    seen = []
    more = BatchGreedySelector(n_select=60, strategy="backward", backward_band=0.2).fit(
        labels[200:], COLUMNS, state=first.state_, progress=lambda d, t: seen.append((d, t))
    )
    union = np.concatenate([labels[:200][first.order_], labels[200:][more.order_]])
    assert more.state_.n == 110
    assert more.objective_ == pytest.approx(objective(union, COLUMNS, ks=[4] * 4), abs=1e-9)
    assert seen[-1] == (140, 140) and [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_backward_then_swap_never_lowers_the_objective_of_backward():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 6, size=(2_000, 4))
    plain = BatchGreedySelector(n_select=400, strategy="backward").fit(labels, COLUMNS)
    swapped = BatchGreedySelector(n_select=400, strategy="backward+swap").fit(labels, COLUMNS)
    assert swapped.objective_ >= plain.objective_
    assert len(set(swapped.order_.tolist())) == 400
    assert swapped.objective_ == pytest.approx(objective(labels[swapped.order_], COLUMNS), abs=1e-9)


def test_band_outside_its_range_is_rejected():
    for band in (0.0, 1.5):
        with pytest.raises(ValueError, match="backward_band must be in"):
            BatchGreedySelector(n_select=2, strategy="backward", backward_band=band).fit(
                np.zeros((5, 4), dtype=int), COLUMNS
            )


def reference_swaps(labels, ks, selected, rounds, chunk, band, estimator):
    """Swap refinement with its band, one obvious step at a time."""
    code = ESTIMATORS.index(estimator)
    arr, ks_arr = check_labels(labels, COLUMNS, ks)
    state = SelectionState(COLUMNS, ks_arr, resolve_pairs(COLUMNS, "bipartite"))
    state.add(arr, np.array(selected, dtype=np.int64))
    selected = list(selected)
    outside = [x for x in range(len(labels)) if x not in set(selected)]
    t = state.tables

    def scores(clips, s):
        return objectives_after(t, cell_index(t, arr, clips), s, code) if clips else []

    size = max(1, math.ceil(chunk * len(selected)))
    if band >= 1.0:
        width, refresh = len(labels), 1
    else:
        width = max(size, math.ceil(band * len(selected)))
        refresh = max(1, width // (2 * size))
    current, since, trace = state.objective(code), refresh, []
    for _ in range(rounds):
        full = since >= refresh
        if full:
            loss = dict(enumerate(scores(selected, -1)))
            gain = dict(enumerate(scores(outside, 1)))
            by_id_in = sorted(loss, key=lambda i: (-loss[i], selected[i]))
            by_id_out = sorted(gain, key=lambda i: (-gain[i], outside[i]))
            band_in, band_out = sorted(by_id_in[:width]), sorted(by_id_out[:width])
            since = 0
        since += 1
        loss = dict(zip(band_in, scores([selected[i] for i in band_in], -1), strict=True))
        gain = dict(zip(band_out, scores([outside[i] for i in band_out], 1), strict=True))
        outs = sorted(band_in, key=lambda i: (-loss[i], selected[i]))[:size]
        ins = sorted(band_out, key=lambda i: (-gain[i], outside[i]))[:size]
        accepted = False
        for i, j in zip(outs, ins, strict=False):
            state.remove(arr, np.array([selected[i]]))
            state.add(arr, np.array([outside[j]]))
            f = state.objective(code)
            if f > current + 1e-12:
                selected[i], outside[j], current, accepted = outside[j], selected[i], f, True
            else:
                state.remove(arr, np.array([outside[j]]))
                state.add(arr, np.array([selected[i]]))
        if accepted:
            current = state.objective(code)  # rejected swaps after the last accepted one
            trace.append(current)  # leave their rounding in the sums
        elif full:
            break
        else:
            since = refresh
    return selected, trace


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(2, 60),
    keep=st.floats(0.05, 0.95),
    rounds=st.integers(1, 6),
    chunk=st.sampled_from([0.05, 0.2, 0.5]),
    band=st.sampled_from([0.1, 0.3, 1.0]),
    estimator=st.sampled_from(ESTIMATORS),
)
def test_swap_refine_follows_the_step_by_step_reference(
    seed, n, keep, rounds, chunk, band, estimator
):
    rng = np.random.default_rng(seed)
    ks = [3, 4, 2, 5]
    labels = rng.integers(0, ks, size=(n, 4))
    start = rng.permutation(n)[: max(1, int(keep * n))].tolist()
    code = ESTIMATORS.index(estimator)
    arr, ks_arr = check_labels(labels, COLUMNS, ks)
    state = SelectionState(COLUMNS, ks_arr, resolve_pairs(COLUMNS, "bipartite"))
    state.add(arr, np.array(start))
    outside = np.setdiff1d(np.arange(n), start)
    got, trace = swap_refine(state, arr, np.array(start), outside, code, rounds, chunk, band)
    expected, expected_trace = reference_swaps(labels, ks, start, rounds, chunk, band, estimator)
    assert got.tolist() == expected
    assert trace == expected_trace
