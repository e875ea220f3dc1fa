"""Each shard's own selection, and the merged ``curated_subset`` over the shard winners."""

from collections.abc import Iterator

import dagster as dg
import polars as pl

from acav_assets.core.clustering import ClusteringSet
from acav_assets.core.selection import (
    SelectionOptions,
    auto_target,
    clip_scores,
    merge_candidates,
    merge_shard_winners,
    merge_target,
    save_merged_selection,
    select_shard,
)
from acav_assets.defs.config import config_class, to_options
from acav_assets.defs.execution import k8s_op_tags
from acav_assets.defs.partitions import SHARD_BACKFILL, shard_partitions
from acav_assets.defs.progress import log_progress
from acav_assets.defs.resources import AcavHome

SELECTION_CODE_VERSION = "1"
SUBSET_SHARD = "all"

ShardSelectionConfig = config_class(
    SelectionOptions, name="ShardSelectionConfig", exclude={"size", "ratio"}
)
SubsetConfig = config_class(SelectionOptions, name="SubsetConfig", exclude={"shard_ratio"})


def _objective_check(
    asset: str, objective: float, baseline: float, n: int, candidates: int
) -> dg.AssetCheckResult:
    """F of the picks above F of random picks of the same size; a selection of every
    candidate (or none) is the random one and passes."""
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name="selection_beats_random",
        passed=n == 0 or n >= candidates or objective > baseline,
        metadata={
            "objective": objective,
            "random_objective": baseline,
            "selected": n,
            "candidates": candidates,
        },
    )


@dg.asset(
    deps=["cluster_assignments"],
    partitions_def=shard_partitions,
    backfill_policy=SHARD_BACKFILL,
    group_name="selection",
    description="The shard's own greedy selection to a ratio (ACAV: 20% of each chunk).",
    code_version=SELECTION_CODE_VERSION,
    kinds={"parquet"},
    check_specs=[dg.AssetCheckSpec("selection_beats_random", asset="shard_selection")],
    op_tags=k8s_op_tags(cpu="2", memory="8Gi"),
)
def shard_selection(
    context: dg.AssetExecutionContext, acav: AcavHome, config: ShardSelectionConfig
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    options = to_options(config, SelectionOptions)
    shard = context.partition_key
    tables = acav.tables()
    assigned = tables.read("cluster_assignments", [shard])
    version = assigned["clustering_version"][0] if assigned.height else None
    trained = ClusteringSet.load(acav.storage(), version)
    outcome = select_shard(assigned, trained.columns, trained.ks, options)
    tables.write(
        "shard_selections",
        shard,
        outcome.frame.with_columns(pl.lit(trained.version).alias("clustering_version")),
    )
    yield dg.MaterializeResult(
        metadata={
            "candidates": assigned.height,
            "selected": outcome.frame.height,
            "objective": outcome.objective,
            "random_objective": outcome.random_objective,
            **(outcome.estimate.summary() if outcome.estimate else {}),
        }
    )
    yield _objective_check("shard_selection", outcome.objective, outcome.random_objective,
                           outcome.frame.height, assigned.height)  # fmt: skip


@dg.asset(
    deps=["shard_selection"],
    group_name="selection",
    description="Greedy again over the union of the shard winners (GreeDi) to the global target.",
    code_version=SELECTION_CODE_VERSION,
    kinds={"parquet"},
    check_specs=[
        dg.AssetCheckSpec("selection_beats_random", asset="curated_subset", blocking=True)
    ],
    op_tags=k8s_op_tags(cpu="4", memory="16Gi"),
)
def curated_subset(
    context: dg.AssetExecutionContext, acav: AcavHome, config: SubsetConfig
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    options = to_options(config, SelectionOptions)
    tables = acav.tables()
    trained = ClusteringSet.load(acav.storage())
    assigned = tables.read("cluster_assignments")
    candidates = merge_candidates(assigned, tables.read("shard_selections"), trained.version)
    current = assigned.filter(pl.col("clustering_version") == trained.version)
    total = current.height
    auto = {}
    if options.auto_size:
        winners = tables.read("shard_selections").filter(
            pl.col("clustering_version") == trained.version
        )
        auto = auto_target(winners, total)
        target = min(int(auto["estimated_size"]), candidates.height)
    else:
        target = merge_target(options.size, options.ratio, total, candidates.height)
    subset, outcome = merge_shard_winners(
        candidates, trained.columns, trained.ks, target,
        progress=log_progress(context, "merge"), **options.search_kwargs(),
    )  # fmt: skip
    tables.write(
        "curated_subset", SUBSET_SHARD, subset.with_columns(pl.lit(target).alias("target"))
    )
    scores = clip_scores(current, subset, trained.columns, trained.ks, options)
    tables.write("clip_scores", SUBSET_SHARD, scores)
    save_merged_selection(acav.storage(), outcome)
    yield dg.MaterializeResult(
        metadata={
            "assigned_clips": total,
            "candidates": candidates.height,
            "target": target,
            "selected": subset.height,
            "objective": outcome.objective,
            "random_objective": outcome.random_objective,
            "clustering_version": trained.version,
            **auto,
        }
    )
    yield _objective_check("curated_subset", outcome.objective, outcome.random_objective,
                           subset.height, candidates.height)  # fmt: skip
