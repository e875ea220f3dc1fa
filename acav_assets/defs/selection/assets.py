"""Each shard's own selection, the merge groups of shard winners, and ``curated_subset``, the
curated set extended by the shards it does not include yet (GreeDi in levels)."""

from collections.abc import Iterator

import dagster as dg
import polars as pl

from acav_assets.core.clustering import ClusteringSet
from acav_assets.core.selection import (
    CLIP_SCORES_SHARD,
    CLIP_SCORES_TABLE,
    WINNERS_TABLE,
    CuratedSet,
    SelectionOptions,
    select_shard,
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
    outcome = select_shard(assigned, trained.columns, trained.ks, options)
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
            **(outcome.estimate.summary() if outcome.estimate else {}),
        }
    )
    yield _objective_check("shard_selection", outcome.objective, outcome.random_objective,
                           outcome.frame.height, assigned.height)  # fmt: skip


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


def _score_clips(context: dg.AssetExecutionContext, acav: AcavHome, curated: CuratedSet) -> None:
    """Table ``clip_scores`` for the report: every clip's contribution to the whole set, or
    no rows (with a log line) above the option's size."""
    scores = curated.score_clips()
    if scores is None:
        context.log.info(
            f"clip_scores left empty: {curated.record.assigned:,} assigned clips, more than "
            f"score_clips_max ({curated.options.score_clips_max:,})"
        )
        scores = pl.DataFrame()  # the table's declared columns, no rows
    acav.tables().write(CLIP_SCORES_TABLE, CLIP_SCORES_SHARD, scores)


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
            **{k: v for k, v in (extension.auto or {}).items() if k != "candidates"},
        },
        data_version=dg.DataVersion(f"{record.version}:{record.settings}:r{record.revision}"),
    )
    _score_clips(context, acav, curated)
    yield _objective_check("curated_subset", record.objective, extension.random_objective,
                           extension.added, extension.candidates)  # fmt: skip
