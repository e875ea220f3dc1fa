"""Selection at scale: each shard on its own, then a merge over the shard winners (GreeDi).

Why: one greedy pass over every clip needs every clip's labels in one process. Selecting a
``ratio`` of each shard independently (ACAV: 20%) parallelises across pods; running greedy
again over the union of the winners (Mirzasoleiman et al. 2013) reaches the global size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from acav_assets.core.selection.greedy import BatchGreedySelector
from acav_assets.core.selection.pairing import check_labels


class MergedSelection(NamedTuple):
    """The global selection: for each pick, first picked first, its shard and row there."""

    shard: np.ndarray  # int64: position of the shard in the input list
    row: np.ndarray  # int64: row within that shard's labels
    selector: BatchGreedySelector  # the fitted merge selector (trace, objective, state)


def common_ks(shards: Sequence[np.ndarray], columns: Sequence[str]) -> list[int]:
    """One k per clustering across shards: the largest label seen + 1."""
    if not shards:
        raise ValueError("no shards to select from")
    ks = np.ones(len(columns), dtype=np.int64)
    for labels in shards:
        ks = np.maximum(ks, check_labels(labels, columns)[1])
    return ks.tolist()


def select_shards(
    shards: Sequence[np.ndarray],
    columns: Sequence[str],
    ratio: float = 0.2,
    ks: Sequence[int] | None = None,
    seed: int = 0,
    **selector_kwargs: Any,
) -> list[np.ndarray]:
    """The rows each shard selects on its own (shard i uses seed ``seed + i``)."""
    ks = list(ks) if ks is not None else common_ks(shards, columns)
    return [
        BatchGreedySelector(ratio=ratio, seed=seed + i, **selector_kwargs)
        .fit(labels, columns, ks)
        .order_
        for i, labels in enumerate(shards)
    ]


def merge_selections(
    shards: Sequence[np.ndarray],
    winners: Sequence[np.ndarray],
    columns: Sequence[str],
    n_select: int,
    ks: Sequence[int] | None = None,
    seed: int = 0,
    **selector_kwargs: Any,
) -> MergedSelection:
    """Greedy again over the union of the shard winners, to ``n_select`` clips in all."""
    if len(shards) != len(winners):
        raise ValueError(f"length mismatch: {len(shards)} shards, {len(winners)} winner lists")
    ks = list(ks) if ks is not None else common_ks(shards, columns)
    shard_ids = np.concatenate(
        [np.full(len(w), i, dtype=np.int64) for i, w in enumerate(winners)] + [np.empty(0, int)]
    )
    rows = np.concatenate([np.asarray(w, dtype=np.int64) for w in winners] + [np.empty(0, int)])
    union = np.concatenate(
        [np.asarray(s)[np.asarray(w, dtype=np.int64)] for s, w in zip(shards, winners, strict=True)]
    )
    selector = BatchGreedySelector(n_select=n_select, seed=seed, **selector_kwargs)
    selector.fit(union, columns, ks)
    return MergedSelection(shard_ids[selector.order_], rows[selector.order_], selector)
