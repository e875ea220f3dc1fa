"""Selection over stored cluster assignments: frames in, ranked clip ids out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from acav_assets.core.selection.greedy import BatchGreedySelector
from acav_assets.core.selection.information import objective
from acav_assets.core.selection.options import SelectionOptions
from acav_assets.core.selection.pairing import check_estimator, check_labels
from acav_assets.core.selection.state import SelectionState


@dataclass(frozen=True)
class SelectionOutcome:
    """The ranked picks (``clip_id``, ``rank``; 0 = picked first), F of the picks, the trace
    of F during the search, and F of random subsets of the same size for comparison."""

    frame: pl.DataFrame
    objective: float
    trace: np.ndarray
    random_objective: float
    selector: BatchGreedySelector


def random_objective(
    labels: np.ndarray,
    columns: Sequence[str],
    size: int,
    ks: Sequence[int],
    *,
    pairing: str,
    estimator: str,
    seed: int,
    draws: int = 5,
) -> float:
    """Mean F of ``draws`` uniformly random subsets of ``size`` rows."""
    if size == 0:
        return 0.0
    rng = np.random.default_rng(seed)
    values = [
        objective(
            labels[rng.choice(labels.shape[0], size=size, replace=False)],
            columns,
            pairing=pairing,
            estimator=estimator,
            ks=ks,
        )
        for _ in range(draws)
    ]
    return float(np.mean(values))


def select_clips(
    assignments: pl.DataFrame,
    columns: Sequence[str],
    ks: Sequence[int],
    *,
    n_select: int | None = None,
    ratio: float | None = None,
    seed: int = SelectionOptions.seed,
    state: SelectionState | None = None,
    progress: Callable[[int, int], None] | None = None,
    **selector_kwargs: Any,
) -> SelectionOutcome:
    """Run the selector over ``assignments`` (``clip_id`` plus one label column per
    clustering) and return the picks with their objective. With ``state`` (an earlier
    selection, not changed) the picks extend it, and the random baseline is that state plus
    random candidates."""
    missing = [c for c in ["clip_id", *columns] if c not in assignments.columns]
    if missing:
        raise ValueError(f"assignments lack columns {missing}; have {assignments.columns}")
    labels = assignments.select(columns).to_numpy().astype(np.int64, copy=False)
    if n_select is not None:
        n_select = min(n_select, labels.shape[0])
    selector = BatchGreedySelector(n_select=n_select, ratio=ratio, seed=seed, **selector_kwargs)
    selector.fit(labels, list(columns), list(ks), state=state, progress=progress)
    order = selector.order_
    frame = pl.DataFrame(
        {
            "clip_id": assignments["clip_id"].gather(order),
            "rank": np.arange(len(order), dtype=np.int64),
        }
    )
    if state is None:
        baseline = random_objective(
            labels, columns, len(order), ks,
            pairing=selector.pairing, estimator=selector.estimator, seed=seed,
        )  # fmt: skip
    else:
        baseline = random_extension_objective(
            state, labels, columns, len(order), ks, estimator=selector.estimator, seed=seed
        )
    return SelectionOutcome(
        frame=frame,
        objective=float(selector.objective_),
        trace=np.asarray(selector.objective_trace_),
        random_objective=baseline,
        selector=selector,
    )


def random_extension_objective(
    state: SelectionState,
    labels: np.ndarray,
    columns: Sequence[str],
    size: int,
    ks: Sequence[int],
    *,
    estimator: str,
    seed: int,
    draws: int = 5,
) -> float:
    """Mean F of ``state`` plus ``draws`` uniformly random subsets of ``size`` rows."""
    arr, _ = check_labels(labels, columns, ks)
    code = check_estimator(estimator)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(draws):
        extended = state.copy()
        extended.add(arr, rng.choice(arr.shape[0], size=size, replace=False))
        values.append(extended.objective(code))
    return float(np.mean(values))
