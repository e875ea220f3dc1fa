"""Each shard's own selection, the merge groups of shard winners, and ``curated_subset``, the
curated set extended by the shards it does not include yet (GreeDi in levels)."""

from collections.abc import Iterator

import dagster as dg
import polars as pl

from acav_assets.core.clustering import ClusteringSet
from acav_assets.core.selection import (
    WINNERS_TABLE,
    CuratedSet,
    SelectionOptions,
    select_clips,
    winner_frame,
)
from acav_assets.defs.config import config_class, to_options
from acav_assets.defs.execution import k8s_op_tags
from acav_assets.defs.markdown import markdown_table
from acav_assets.defs.partitions import SHARD_BACKFILL, merge_group_partitions, shard_partitions
from acav_assets.defs.progress import log_progress
from acav_assets.defs.resources import AcavHome

SELECTION_CODE_VERSION = "2"
LISTED_SHARDS = 20  # new shards named in a curated_subset materialization's metadata

ShardSelectionConfig = config_class(
    SelectionOptions, name="ShardSelectionConfig", exclude={"size", "ratio"}
)
SubsetConfig = config_class(SelectionOptions, name="SubsetConfig", exclude={"shard_ratio"})


def _objective_check(asset: str, objective: float, baseline: float, n: int) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=asset,
        check_name="selection_beats_random",
        passed=n == 0 or objective > baseline,
        metadata={"objective": objective, "random_objective": baseline, "selected": n},
    )


@dg.asset(
    deps=["cluster_assignments"],
    partitions_def=shard_partitions,
    backfill_policy=SHARD_BACKFILL,
    group_name="selection",
    description="The shard's own greedy selection to a ratio (ACAV: 20% of each chunk), kept "
    "with the winners' labels for the merges.",
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
    outcome = select_clips(
        assigned, trained.columns, trained.ks, ratio=options.shard_ratio,
        **options.search_kwargs(),
    )  # fmt: skip
    tables.write(
        WINNERS_TABLE,
        shard,
        winner_frame(assigned, outcome.frame, trained.columns, trained.version),
    )
    yield dg.MaterializeResult(
        metadata={
            "candidates": assigned.height,
            "selected": outcome.frame.height,
            "objective": outcome.objective,
            "random_objective": outcome.random_objective,
            "clustering_version": trained.version,
        }
    )
    yield _objective_check("shard_selection", outcome.objective, outcome.random_objective,
                           outcome.frame.height)  # fmt: skip


def _curated_set(acav: AcavHome, options: SelectionOptions) -> CuratedSet:
    trained = ClusteringSet.load(acav.storage())
    return CuratedSet(
        acav.storage(), acav.tables(), trained.columns, trained.ks, trained.version, options
    )


@dg.asset(
    deps=["shard_selection"],
    partitions_def=merge_group_partitions,
    backfill_policy=SHARD_BACKFILL,
    group_name="selection",
    description="A merge group's new shard winners merged, in the context of the curated set, "
    "to the share the final merge chooses from (one pod a group).",
    code_version=SELECTION_CODE_VERSION,
    kinds={"parquet"},
    op_tags=k8s_op_tags(cpu="2", memory="8Gi"),
)
def group_selection(
    context: dg.AssetExecutionContext, acav: AcavHome, config: SubsetConfig
) -> dg.MaterializeResult:
    curated = _curated_set(acav, to_options(config, SelectionOptions))
    group = context.partition_key
    shards = curated.group_pending(group)
    winners = curated.select_group(group, shards)
    curated.save_group(winners)
    return dg.MaterializeResult(
        metadata={
            "shards": len(shards),
            "assigned_clips": winners.assigned,
            "winners": winners.frame.height,
            "curated_revision": winners.revision,
            "clustering_version": curated.version,
        }
    )


def _included_sources(shards: list[str]) -> str:
    """Shards by manifest (the key less its index), as a markdown table."""
    prefixes = pl.DataFrame({"shard": shards}, schema={"shard": pl.String}).with_columns(
        pl.col("shard").str.replace(r"-[0-9]+$", "").alias("manifest")
    )
    counts = prefixes.group_by("manifest").len().sort("manifest")
    return markdown_table(["manifest", "shards"], counts.iter_rows())


@dg.asset(
    deps=["group_selection"],
    group_name="selection",
    description="The curated set: extended from its saved state by the shards it does not "
    "include yet (earlier winners stay); a new clustering version or other settings start "
    "it over.",
    code_version=SELECTION_CODE_VERSION,
    kinds={"parquet"},
    check_specs=[
        dg.AssetCheckSpec("selection_beats_random", asset="curated_subset", blocking=True)
    ],
    op_tags=k8s_op_tags(cpu="4", memory="16Gi"),
    pool="curation",
)
def curated_subset(
    context: dg.AssetExecutionContext, acav: AcavHome, config: SubsetConfig
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    curated = _curated_set(acav, to_options(config, SelectionOptions))
    extension = curated.extend(progress=log_progress(context, "merge"))
    record = extension.record
    if extension.budget == 0 and extension.shards:
        context.log.warning(
            f"{len(extension.shards)} new shards added no clip: the curated set is full "
            "(size reached); a new clustering version or other settings let them compete"
        )
    yield dg.MaterializeResult(
        metadata={
            "curated_revision": record.revision,
            "started_over": extension.fresh,
            "included_shards": len(record.shards),
            "new_shards": len(extension.shards),
            "new_shards_listed": dg.MetadataValue.md(
                "\n".join(f"- {s}" for s in extension.shards[:LISTED_SHARDS])
                + (
                    f"\n- ... {len(extension.shards) - LISTED_SHARDS} more"
                    if len(extension.shards) > LISTED_SHARDS
                    else ""
                )  # fmt: skip
            ),
            "included_by_manifest": dg.MetadataValue.md(_included_sources(list(record.shards))),
            "merge_groups": extension.groups,
            "merge_groups_inline": extension.groups_inline,
            "merge_batches": extension.batches,
            "candidates": extension.candidates,
            "budget": extension.budget,
            "added": extension.added,
            "assigned_clips": record.assigned,
            "selected": record.selected,
            "target": record.selected,
            "objective": record.objective,
            "random_objective": extension.random_objective,
            "clustering_version": record.version,
            "seconds": round(extension.seconds, 3),
        },
        data_version=dg.DataVersion(f"{record.version}:{record.settings}:r{record.revision}"),
    )
    yield _objective_check("curated_subset", record.objective, extension.random_objective,
                           extension.added)  # fmt: skip
