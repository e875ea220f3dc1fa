"""The greedy engine against recomputation from scratch, and its defined edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acav_assets.core.selection import BatchGreedySelector, SelectionState, objective
from acav_assets.core.selection.pairing import check_labels, resolve_pairs
from acav_assets.core.selection.scoring import cell_index, objectives_after

COLUMNS = ["audio_0", "audio_1", "visual_0", "visual_1"]
ESTIMATORS = ["plugin", "miller_madow", "adjusted"]


def planted(n: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels where half of the clips have agreeing audio and visual clusters."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, size=n)
    labels = np.stack([(truth + rng.integers(0, 2, size=n)) % k for _ in COLUMNS], axis=1)
    swapped = rng.permutation(n)[: n // 2]
    labels[swapped, :2] = labels[rng.permutation(swapped), :2]
    is_true = np.ones(n, dtype=bool)
    is_true[swapped] = False
    return labels, is_true


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 40),
    estimator=st.sampled_from(ESTIMATORS),
    pairing=st.sampled_from(["bipartite", "combination", "diagonal"]),
)
def test_incremental_objective_equals_recomputation(seed, n, estimator, pairing):
    rng = np.random.default_rng(seed)
    ks = [3, 5, 4, 2]
    labels = rng.integers(0, ks, size=(n, 4))
    arr, ks_arr = check_labels(labels, COLUMNS, ks)
    state = SelectionState(COLUMNS, ks_arr, resolve_pairs(COLUMNS, pairing))
    inside = rng.random(n) < 0.5
    state.add(arr, np.flatnonzero(inside))
    code = ESTIMATORS.index(estimator)
    t = state.tables
    after_add = objectives_after(t, cell_index(t, arr, np.flatnonzero(~inside)), 1, code)
    after_remove = objectives_after(t, cell_index(t, arr, np.flatnonzero(inside)), -1, code)
    for x, value in zip(np.flatnonzero(~inside), after_add, strict=True):
        subset = labels[inside | (np.arange(n) == x)]
        assert value == pytest.approx(objective(subset, COLUMNS, pairing, estimator, ks), abs=1e-9)
    for x, value in zip(np.flatnonzero(inside), after_remove, strict=True):
        subset = labels[inside & (np.arange(n) != x)]
        assert value == pytest.approx(objective(subset, COLUMNS, pairing, estimator, ks), abs=1e-9)


@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_exact_greedy_picks_the_best_clip_by_recomputation(estimator):
    labels, _ = planted(24, 4, seed=1)
    sel = BatchGreedySelector(n_select=8, exact=True, estimator=estimator, strategy="forward").fit(
        labels, COLUMNS
    )
    chosen: list[int] = []
    for pick in sel.order_:
        rest = [x for x in range(24) if x not in chosen]
        values = {x: objective(labels[chosen + [x]], COLUMNS, estimator=estimator) for x in rest}
        assert values[pick] == pytest.approx(max(values.values()), abs=1e-9)
        chosen.append(int(pick))
    assert sel.objective_trace_ == pytest.approx(
        [objective(labels[sel.order_[: i + 1]], COLUMNS, estimator=estimator) for i in range(8)]
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_batch_greedy_with_whole_pool_and_top1_equals_exact_greedy(seed):
    labels, _ = planted(60, 5, seed=seed)
    exact = BatchGreedySelector(n_select=30, exact=True, strategy="forward").fit(labels, COLUMNS)
    batch = BatchGreedySelector(
        n_select=30, batch_size=60, top_k=1, seed=seed, strategy="forward"
    ).fit(labels, COLUMNS)
    np.testing.assert_array_equal(batch.order_, exact.order_)


@pytest.mark.parametrize("strategy", ["forward", "backward", "forward+swap"])
def test_selecting_half_recovers_planted_agreement_far_better_than_random(strategy):
    labels, is_true = planted(720, 12, seed=3)
    sel = BatchGreedySelector(n_select=360, strategy=strategy, seed=0).fit(labels, COLUMNS)
    precision = is_true[sel.order_].mean()
    random_precision = is_true[np.random.default_rng(0).permutation(720)[:360]].mean()
    assert random_precision < 0.56
    assert precision > 0.72  # random: about 0.5
    assert sel.objective_ == pytest.approx(objective(labels[sel.order_], COLUMNS), abs=1e-9)


def test_backward_and_swap_search_beat_forward_on_the_same_objective():
    labels, _ = planted(400, 8, seed=4)
    scores = {
        s: BatchGreedySelector(n_select=200, strategy=s, seed=0).fit(labels, COLUMNS).objective_
        for s in ["forward", "backward", "forward+swap"]
    }
    assert scores["forward+swap"] >= scores["forward"]
    assert scores["backward"] > scores["forward"]


def test_exact_backward_drops_the_clip_whose_removal_leaves_most():
    labels, _ = planted(14, 3, seed=5)
    sel = BatchGreedySelector(n_select=10, strategy="backward", exact=True).fit(labels, COLUMNS)
    alive = list(range(14))
    for _ in range(4):
        left = {x: objective(labels[[y for y in alive if y != x]], COLUMNS) for x in alive}
        best = max(left.values())
        alive.remove(min(x for x, v in left.items() if v >= best - 1e-12))
    assert sorted(sel.order_.tolist()) == alive


def test_selection_is_deterministic_for_a_seed():
    labels, _ = planted(300, 6, seed=6)
    runs = [
        BatchGreedySelector(ratio=0.3, seed=7, strategy="forward").fit(labels, COLUMNS).order_
        for _ in range(2)
    ]
    np.testing.assert_array_equal(*runs)
    other = BatchGreedySelector(ratio=0.3, seed=8, strategy="forward").fit(labels, COLUMNS).order_
    assert not np.array_equal(runs[0], other)


def test_saved_state_lets_new_candidates_extend_a_selection(storage):
    labels, _ = planted(200, 5, seed=7)
    first = BatchGreedySelector(n_select=40, seed=0).fit(labels[:100], COLUMNS, ks=[5] * 4)
    first.state_.save(storage, "selections/run1")
    state = SelectionState.load(storage, "selections/run1")
    more = BatchGreedySelector(n_select=30, seed=0).fit(labels[100:], COLUMNS, state=state)
    union = np.concatenate([labels[:100][first.order_], labels[100:][more.order_]])
    assert state.n == 40 and more.state_.n == 70
    assert more.objective_ == pytest.approx(objective(union, COLUMNS, ks=[5] * 4), abs=1e-9)
    np.testing.assert_array_equal(
        more.state_.table(0),
        np.histogram2d(union[:, 0], union[:, 2], bins=[np.arange(6), np.arange(6)])[0],
    )


def test_state_rejects_other_clusterings():
    labels, _ = planted(50, 5, seed=8)
    state = BatchGreedySelector(n_select=10).fit(labels, COLUMNS, ks=[5] * 4).state_
    with pytest.raises(ValueError, match="state is for"):
        BatchGreedySelector(n_select=5).fit(labels, COLUMNS, ks=[6] * 4, state=state)


def test_target_above_candidates_selects_all():
    labels, _ = planted(30, 4, seed=9)
    for strategy in ["forward", "backward"]:
        sel = BatchGreedySelector(n_select=99, strategy=strategy).fit(labels, COLUMNS)
        assert sorted(sel.order_.tolist()) == list(range(30))


def test_no_candidates_selects_nothing():
    sel = BatchGreedySelector(ratio=0.5, strategy="forward").fit(
        np.empty((0, 4), dtype=np.int64), COLUMNS
    )
    assert len(sel.order_) == 0 and len(sel.objective_trace_) == 0 and sel.objective_ == 0.0


def test_one_audio_and_one_visual_clustering_is_one_pair():
    labels, _ = planted(80, 4, seed=10)
    sel = BatchGreedySelector(n_select=20).fit(labels[:, [0, 2]], ["audio_0", "visual_0"])
    assert sel.pairs_ == [("audio_0", "visual_0")]
    assert sel.objective_ == pytest.approx(
        objective(labels[sel.order_][:, [0, 2]], ["audio_0", "visual_0"]), abs=1e-9
    )


def test_single_clustering_is_rejected_for_lack_of_pairs():
    with pytest.raises(ValueError, match="no pairs"):
        BatchGreedySelector(n_select=2).fit(np.zeros((5, 1), dtype=int), ["audio_0"])


def test_empty_clusters_and_different_ks_are_handled():
    rng = np.random.default_rng(11)
    ks = [3, 40, 7, 2]
    labels = rng.integers(0, [3, 5, 7, 2], size=(60, 4))  # clusters 5..39 of audio_1 unused
    sel = BatchGreedySelector(n_select=25, pairing="combination").fit(labels, COLUMNS, ks=ks)
    assert sel.ks_ == ks and len(sel.pairs_) == 6
    assert sel.objective_ == pytest.approx(
        objective(labels[sel.order_], COLUMNS, "combination", ks=ks), abs=1e-9
    )


def test_dropping_unselected_draws_limits_the_pool():
    labels, _ = planted(100, 4, seed=12)
    sel = BatchGreedySelector(n_select=50, keep_unselected=False, strategy="forward").fit(
        labels, COLUMNS
    )
    assert len(sel.order_) == 20  # 5 draws of 20 clips keep 4 each


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_select": 3, "ratio": 0.1}, "exactly one of n_select or ratio"),
        ({"ratio": 1.5}, "ratio must be in"),
        ({"n_select": 3, "strategy": "sideways"}, "unknown strategy"),
        ({"n_select": 3, "batch_size": 0}, "batch_size must be a positive"),
        ({"n_select": 3, "pairing": "zigzag"}, "unknown pairing"),
    ],
)
def test_selector_rejects_bad_configuration(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BatchGreedySelector(**kwargs).fit(np.zeros((5, 4), dtype=int), COLUMNS)
