"""Selection at scale: each shard on its own, then greedy again over the winners (GreeDi,
Mirzasoleiman et al. 2013), in levels, to the global target.

Why: one search over every clip needs every clip's labels in one process. Selecting a share of
each shard independently (ACAV: 20%) parallelises across pods; merging groups of shard winners
in parallel (one pod a group) and then the group winners reaches the global size with the
memory of one step bounded by what it reads: its group, or one batch of the final merge.

Levels: level 0 is each shard's own selection (``shard_selections``: its winners with their
labels and the shard's candidate count). A merge group holds ``merge_group_shards`` shards of
one manifest (consecutive shard indices, so a new manifest never changes an old group); it
keeps :func:`group_target` of its winners. The final merge picks the global target among the
group winners; when one group holds every new shard it is the final merge itself, so one
group is exactly a single merge.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import polars as pl
import pyarrow.dataset as ds

from acav_assets.core.catalog.tables import TableStore
from acav_assets.core.selection.options import SelectionOptions
from acav_assets.core.selection.picking import SelectionOutcome, select_clips
from acav_assets.core.selection.size import contributions, estimate_share
from acav_assets.core.selection.state import SelectionState
from acav_assets.core.storage import check_key

# The merge should choose among at least this many candidates per clip it keeps.
MERGE_CHOICE = 2
WINNERS_TABLE = "shard_selections"
CANDIDATES_COLUMN = "candidates"  # the shard's assigned clips, on each of its winners
# What a shard's selection rows carry of its own auto-size estimate (constant per shard).
ESTIMATE_COLUMNS = ("estimated_share", "share_low", "share_high", "shard_candidates")
# Every clip's contribution to the curated set, one file for the whole set.
CLIP_SCORES_TABLE, CLIP_SCORES_SHARD = "clip_scores", "all"
_INDEXED = re.compile(r"^(?P<head>.+)-(?P<index>[0-9]+)$")
_GROUP = re.compile(r"^(?P<head>.+)-g(?P<group>[0-9]{5,})$")
_SINGLE = "-g"


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


def group_target(n_winners: int, n_assigned: int, ratio: float | None, size: int | None) -> int:
    """How many of its ``n_winners`` a merge group keeps: the geometric mean of its winners
    and its share of the global target (``ratio`` of its ``n_assigned`` clips; with a global
    ``size``, the shards kept ``MERGE_CHOICE`` times their share), so that each level keeps
    the same fraction of what it reads; every winner when the target is all of them."""
    if ratio is None and size is None:
        return n_winners
    share = ratio * n_assigned if ratio is not None else n_winners / MERGE_CHOICE
    share = min(float(n_winners), share)
    return min(n_winners, max(math.ceil(share), math.ceil(math.sqrt(n_winners * share))))


def group_key(shard: str, group_shards: int) -> str:
    """The merge group of ``shard``: ``<manifest prefix>-g<index // group_shards>`` for a key
    ending in its shard index, else a group of its own (``<shard>-g``)."""
    match = _INDEXED.match(shard)
    if match is None:
        return check_key("merge group", shard + _SINGLE)
    group = int(match.group("index")) // group_shards
    return check_key("merge group", f"{match.group('head')}-g{group:05d}")


def group_members(group: str, group_shards: int) -> list[str]:
    """Every shard key that :func:`group_key` puts in ``group`` (most may not exist)."""
    if group.endswith(_SINGLE):
        return [group[: -len(_SINGLE)]]
    match = _GROUP.match(group)
    if match is None:
        raise ValueError(f"{group!r} is not a merge group key (<prefix>-g<number> or <shard>-g)")
    first = int(match.group("group")) * group_shards
    return [f"{match.group('head')}-{i:05d}" for i in range(first, first + group_shards)]


def group_shards_of(shards: list[str], group_shards: int) -> dict[str, list[str]]:
    """``shards`` by merge group, each group's shards sorted; groups in key order."""
    groups: dict[str, list[str]] = {}
    for shard in sorted(shards):
        groups.setdefault(group_key(shard, group_shards), []).append(shard)
    return dict(sorted(groups.items()))


def winner_frame(
    assignments: pl.DataFrame, picks: pl.DataFrame, columns: list[str], version: str
) -> pl.DataFrame:
    """A shard's winners as ``shard_selections`` keeps them: clip_id, rank, labels, the
    shard's candidate count and the clustering version (what the merges read)."""
    labels = assignments.select("clip_id", *columns)
    return picks.join(labels, on="clip_id", how="left").with_columns(
        pl.lit(assignments.height, dtype=pl.Int64).alias(CANDIDATES_COLUMN),
        pl.lit(version).alias("clustering_version"),
    )


def read_winners(
    tables: TableStore, table: str, shards: list[str], columns: list[str], version: str
) -> pl.DataFrame:
    """The winners of ``shards`` in ``table`` under clustering ``version``, reading only
    clip_id, the labels and the candidate count, sorted by shard and clip id."""
    frame = tables.scan(
        table,
        shards,
        ["clip_id", *columns, CANDIDATES_COLUMN],
        ds.field("clustering_version") == version,
    )
    if frame.height == 0:
        return pl.DataFrame(
            schema={
                "clip_id": pl.String,
                **dict.fromkeys(columns, pl.Int64),
                CANDIDATES_COLUMN: pl.Int64,
                "shard": pl.String,
            }  # fmt: skip
        )
    return frame.sort("shard", "clip_id")


def assigned_of(winners: pl.DataFrame) -> int:
    """The candidates of the shards these winners come from (one count a shard)."""
    if winners.height == 0:
        return 0
    return int(
        winners.group_by("shard").agg(pl.col(CANDIDATES_COLUMN).first())[CANDIDATES_COLUMN].sum()
    )


def merge_shard_winners(
    candidates: pl.DataFrame,
    columns: list[str],
    ks: list[int],
    n_select: int,
    *,
    state: SelectionState | None = None,
    progress: Callable[[int, int], None] | None = None,
    **selector_kwargs: Any,
) -> tuple[pl.DataFrame, SelectionOutcome]:
    """Greedy over winners (``candidates``: clip_id, shard, one label column per clustering)
    to ``n_select`` clips, extending ``state`` when given: the ranked picks with their
    ``from_shard``."""
    outcome = select_clips(
        candidates, columns, ks, n_select=n_select, state=state, progress=progress,
        **selector_kwargs,
    )  # fmt: skip
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
