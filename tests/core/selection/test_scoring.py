"""Scoring many clips at once: the top-count selection and the x ln x table, against numpy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acav_assets.core.selection import SelectionState, objective
from acav_assets.core.selection.kernels import XLOGX_STEPS
from acav_assets.core.selection.pairing import check_labels, resolve_pairs
from acav_assets.core.selection.scoring import cell_index, objectives_after, top_positions

COLUMNS = ["audio_0", "visual_0"]


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    n=st.integers(0, 300),
    distinct=st.integers(1, 400),
    ordered=st.booleans(),
)
def test_top_positions_equals_a_sort_by_value_then_id(data, n, distinct, ordered):
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    # few distinct values give many ties; a wide spread puts most values in one bin
    values = rng.integers(0, distinct, size=n) * data.draw(st.sampled_from([1e-9, 1.0, 1e12]))
    values = values.astype(np.float64) + data.draw(st.sampled_from([0.0, -3.5, 1e6]))
    ids = rng.permutation(10 * n + 1)[:n]
    count = data.draw(st.integers(0, n + 2))
    expected = np.lexsort((ids, -values))[:count]
    got = top_positions(values, ids, count, ordered)
    np.testing.assert_array_equal(got, expected if ordered else np.sort(expected))


def test_top_positions_keeps_nan_in_bounds():
    values = np.array([1.0, np.nan, 3.0, 2.0, np.nan])
    got = top_positions(values, np.arange(5), 3, False)
    assert len(got) == 3 and set(got) <= set(range(5)) and 2 in got


def test_counts_beyond_the_xlogx_table_keep_sums_exact():
    rng = np.random.default_rng(0)
    n = 2 * XLOGX_STEPS + 5_000  # both clusters of both clusterings pass the table's end
    labels = rng.integers(0, 2, size=(n, 2))
    labels[:, 1] = np.where(rng.random(n) < 0.9, labels[:, 0], 1 - labels[:, 0])
    arr, ks = check_labels(labels, COLUMNS)
    state = SelectionState(COLUMNS, ks, resolve_pairs(COLUMNS, "bipartite"))
    state.add(arr, np.arange(n))
    assert state.marginal(0).min() > XLOGX_STEPS
    assert state.objective() == pytest.approx(objective(labels, COLUMNS), rel=1e-12)
    t = state.tables
    after = objectives_after(t, cell_index(t, arr, np.arange(4)), -1, 0)
    for x, value in enumerate(after):
        rest = labels[np.arange(n) != x]
        assert value == pytest.approx(objective(rest, COLUMNS), rel=1e-12)


def test_cell_index_widens_past_65536_cells():
    arr, ks = check_labels(np.array([[299, 299], [0, 5]]), COLUMNS, [300, 300])
    state = SelectionState(COLUMNS, ks, resolve_pairs(COLUMNS, "bipartite"))
    rows = cell_index(state.tables, arr, np.arange(2))
    assert rows.dtype == np.uint32 and rows[:, 0].tolist() == [299 * 300 + 299, 5]
