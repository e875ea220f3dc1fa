"""Selection at scale: each shard on its own, then greedy again over the union of the shard
winners (GreeDi, Mirzasoleiman et al. 2013) to the global target.

Why: one search over every clip needs every clip's labels in one process. Selecting a share of
each shard independently (ACAV: 20%) parallelises across pods; searching again over the union
of the winners reaches the global size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from acav_assets.core.selection.picking import SelectionOutcome, select_clips

# The merge should choose among at least this many candidates per clip it keeps.
MERGE_CHOICE = 2


def merge_candidates(
    assignments: pl.DataFrame, winners: pl.DataFrame, version: str
) -> pl.DataFrame:
    """Assignments of the shard winners made under clustering ``version``; a shard selected
    under an older version is left out (its assignments are stale)."""
    current = assignments.filter(pl.col("clustering_version") == version)
    picked = winners.filter(pl.col("clustering_version") == version).select("clip_id", "shard")
    return current.join(picked, on=["clip_id", "shard"], how="inner").sort("shard", "clip_id")


def merge_target(size: int | None, ratio: float | None, n_assigned: int, n_candidates: int) -> int:
    """The global size: ``size`` clips, or ``ratio`` of every assigned clip, or (neither) every
    shard winner."""
    if size is not None and ratio is not None:
        raise ValueError(f"give size or ratio, not both (got {size}, {ratio})")
    if ratio is not None:
        return round(ratio * n_assigned)
    return size if size is not None else n_candidates


def shard_ratio_for(size: int | None, n_clips: int, ratio: float) -> float:
    """The share each shard selects: ``ratio``, raised so the shards' winners leave the merge
    ``MERGE_CHOICE`` candidates per clip of a global ``size``."""
    if size is None or n_clips == 0:
        return ratio
    return min(1.0, max(ratio, MERGE_CHOICE * size / n_clips))


def merge_shard_winners(
    candidates: pl.DataFrame,
    columns: list[str],
    ks: list[int],
    n_select: int,
    *,
    progress: Callable[[int, int], None] | None = None,
    **selector_kwargs: Any,
) -> tuple[pl.DataFrame, SelectionOutcome]:
    """Greedy over the shard winners (``candidates``: clip_id, shard, one label column per
    clustering) to ``n_select`` clips: the ranked picks with their ``from_shard``."""
    outcome = select_clips(
        candidates, columns, ks, n_select=n_select, progress=progress, **selector_kwargs
    )
    shards = candidates["shard"].gather(outcome.selector.order_)
    return outcome.frame.with_columns(shards.alias("from_shard")), outcome
