"""Selection at scale: each shard on its own, then greedy again over the union of the shard
winners (GreeDi, Mirzasoleiman et al. 2013) to the global target.

Why: one search over every clip needs every clip's labels in one process. Selecting a share of
each shard independently (ACAV: 20%) parallelises across pods; searching again over the union
of the winners reaches the global size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import polars as pl

from acav_assets.core.selection.options import SelectionOptions
from acav_assets.core.selection.picking import SelectionOutcome, select_clips
from acav_assets.core.selection.size import contributions, estimate_share

# The merge should choose among at least this many candidates per clip it keeps.
MERGE_CHOICE = 2
# What a shard's selection rows carry of its own auto-size estimate (constant per shard).
ESTIMATE_COLUMNS = ("estimated_share", "share_low", "share_high", "shard_candidates")


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


def select_shard(
    assigned: pl.DataFrame, columns: list[str], ks: list[int], options: SelectionOptions
) -> SelectionOutcome:
    """One shard's own selection: ``options.shard_ratio`` of it, or with ``auto_size`` its
    estimated share of corresponding clips, raised so the merge keeps ``MERGE_CHOICE``
    candidates per clip; the estimate rides along in the ESTIMATE_COLUMNS."""
    search = options.search_kwargs()
    if not options.auto_size:
        return select_clips(assigned, columns, ks, ratio=options.shard_ratio, **search)
    labels = assigned.select(columns).to_numpy()
    estimate = estimate_share(
        labels, columns, ks, strategy=options.strategy, pairing=options.pairing,
        estimator=options.estimator, seed=options.seed, shuffles=options.auto_shuffles,
    )  # fmt: skip
    ratio = shard_ratio_for(estimate.size, assigned.height, options.shard_ratio)
    outcome = select_clips(assigned, columns, ks, ratio=ratio, **search)
    frame = outcome.frame.with_columns(
        pl.lit(estimate.share).alias("estimated_share"),
        pl.lit(estimate.low).alias("share_low"),
        pl.lit(estimate.high).alias("share_high"),
        pl.lit(estimate.candidates).alias("shard_candidates"),
    )
    return replace(outcome, frame=frame, estimate=estimate)


def auto_target(winners: pl.DataFrame, n_assigned: int) -> dict[str, float | int]:
    """The global auto size from the shards' own estimates (``winners``: the shard
    selections, with ESTIMATE_COLUMNS): their share weighted by each shard's candidates,
    and the same weighting of their ranges."""
    missing = [c for c in ESTIMATE_COLUMNS if c not in winners.columns]
    if missing or winners.filter(pl.col("estimated_share").is_null()).height:
        raise ValueError(
            "the shard selections carry no auto-size estimate: select the shards again with "
            "auto_size"
        )
    shards = winners.unique("shard").select(*ESTIMATE_COLUMNS)
    weights = shards["shard_candidates"].to_numpy().astype(np.float64)
    share, low, high = (
        float(np.average(shards[c].to_numpy(), weights=weights))
        for c in ("estimated_share", "share_low", "share_high")
    )
    return {
        "estimated_share": round(share, 4),
        "share_low": round(low, 4),
        "share_high": round(high, 4),
        "estimated_size": round(share * n_assigned),
        "candidates": n_assigned,
    }


def clip_scores(
    assigned: pl.DataFrame,
    subset: pl.DataFrame,
    columns: list[str],
    ks: list[int],
    options: SelectionOptions,
) -> pl.DataFrame:
    """Every assigned clip's contribution to the curated subset (``clip_id``, ``from_shard``,
    ``contribution``, ``kept``): what a kept clip's removal would lose of the subset's total
    information, what a dropped clip's addition would gain."""  # fmt: skip
    assigned = assigned.sort("shard", "clip_id")
    kept = assigned.select("clip_id", "shard").join(
        subset.select("clip_id", pl.col("from_shard").alias("shard"), pl.lit(True).alias("kept")),
        on=["clip_id", "shard"], how="left",
    )["kept"].fill_null(False).to_numpy()  # fmt: skip
    scores = contributions(
        assigned.select(columns).to_numpy(), columns, np.flatnonzero(kept), ks,
        strategy=options.strategy, pairing=options.pairing, estimator=options.estimator,
    )  # fmt: skip
    return assigned.select("clip_id", pl.col("shard").alias("from_shard")).with_columns(
        pl.Series("contribution", scores), pl.Series("kept", kept)
    )
