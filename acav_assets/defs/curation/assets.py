"""Clusterings (trained once across shards, versioned), per-shard assignments and
selections, and the merged curated subset."""

from collections.abc import Iterator

import dagster as dg
import polars as pl

from acav_assets.core.curation import ClusteringSet, embedding_sources, select_clips
from acav_assets.core.curation.picking import save_merged_selection
from acav_assets.core.curation.tables import merge_candidates
from acav_assets.core.features import EmbeddingStore
from acav_assets.defs.curation.config import (
    ClusteringConfig,
    ShardSelectionConfig,
    SubsetConfig,
)
from acav_assets.defs.execution import k8s_op_tags
from acav_assets.defs.markdown import markdown_table
from acav_assets.defs.partitions import SHARD_BACKFILL, shard_partitions
from acav_assets.defs.progress import log_progress
from acav_assets.defs.resources import AcavHome

CURATION_CODE_VERSION = "1"
EMBEDDING_ASSETS = ["audio_embeddings", "visual_embeddings"]
SUBSET_SHARD = "all"


@dg.asset(
    deps=EMBEDDING_ASSETS,
    group_name="curation",
    description="k-means per (modality, layer) on a sample across the embedded shards. "
    "Re-materializing is a deliberate re-clustering: a new version that makes the "
    "assignments stale.",
    code_version=CURATION_CODE_VERSION,
    kinds={"faiss"},
    check_specs=[dg.AssetCheckSpec("no_dominant_cluster", asset="clusterings", blocking=True)],
    op_tags=k8s_op_tags(cpu="8", memory="32Gi"),
)
def clusterings(
    context: dg.AssetExecutionContext, acav: AcavHome, config: ClusteringConfig
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    root = acav.storage()
    store = EmbeddingStore(root)
    sources = embedding_sources(store, config.extractors())
    shards = sorted(set.intersection(*(set(store.shards(s.extractor)) for s in sources)))
    trained = ClusteringSet.train(
        store,
        sources,
        shards,
        k=config.resolved_k(),
        n_iter=config.n_iter,
        seed=config.seed,
        max_points_per_centroid=config.max_points_per_centroid,
        normalize=config.normalize,
        sample_size=config.sample_size,
        progress=log_progress(context, "clusterings"),
    )
    trained.save(root)
    shares = trained.max_cluster_share()
    yield dg.MaterializeResult(
        metadata={
            "version": trained.version,
            "shards": len(shards),
            "clusterings": dg.MetadataValue.md(
                markdown_table(
                    ["clustering", "k", "largest cluster share", "sample"],
                    [
                        (c, k, f"{shares[c]:.3f}", sum(trained.sample_sizes[c]))
                        for c, k in zip(trained.columns, trained.ks, strict=True)
                    ],
                )
            ),
        },
        data_version=dg.DataVersion(trained.version),
    )
    worst = max(shares, key=shares.get)
    yield dg.AssetCheckResult(
        check_name="no_dominant_cluster",
        passed=shares[worst] <= config.max_cluster_share,
        metadata={"worst_clustering": worst, "share": shares[worst]},
    )


@dg.asset(
    deps=["clusterings", *EMBEDDING_ASSETS],
    partitions_def=shard_partitions,
    backfill_policy=SHARD_BACKFILL,
    group_name="curation",
    description="Every clip of the shard labelled by each clustering of the current version.",
    code_version=CURATION_CODE_VERSION,
    kinds={"parquet"},
    op_tags=k8s_op_tags(cpu="2", memory="8Gi"),
)
def cluster_assignments(context: dg.AssetExecutionContext, acav: AcavHome) -> dg.MaterializeResult:
    root = acav.storage()
    store = EmbeddingStore(root)
    trained = ClusteringSet.load(root)
    shard = context.partition_key
    embedded = all(shard in store.shards(s.extractor) for s in trained.sources)
    if embedded:
        frame = trained.assign(store, shard)
    else:
        frame = pl.DataFrame(
            schema={"clip_id": pl.String, **dict.fromkeys(trained.columns, pl.Int64)}
        )
    frame = frame.with_columns(pl.lit(trained.version).alias("clustering_version"))
    acav.tables().write("cluster_assignments", shard, frame)
    return dg.MaterializeResult(
        metadata={"clips": frame.height, "clustering_version": trained.version},
        data_version=dg.DataVersion(f"{trained.version}:{frame.height}"),
    )


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
    group_name="curation",
    description="The shard's own greedy selection to a ratio (ACAV: 20% of each chunk).",
    code_version=CURATION_CODE_VERSION,
    kinds={"parquet"},
    check_specs=[dg.AssetCheckSpec("selection_beats_random", asset="shard_selection")],
    op_tags=k8s_op_tags(cpu="2", memory="8Gi"),
)
def shard_selection(
    context: dg.AssetExecutionContext, acav: AcavHome, config: ShardSelectionConfig
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    shard = context.partition_key
    tables = acav.tables()
    assigned = tables.read("cluster_assignments", [shard])
    version = assigned["clustering_version"][0] if assigned.height else None
    trained = ClusteringSet.load(acav.storage(), version)
    outcome = select_clips(
        assigned, trained.columns, trained.ks, ratio=config.ratio, **config.selector_kwargs()
    )
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
        }
    )
    yield _objective_check("shard_selection", outcome.objective, outcome.random_objective,
                           outcome.frame.height)  # fmt: skip


@dg.asset(
    deps=["shard_selection"],
    group_name="curation",
    description="Greedy again over the union of the shard winners (GreeDi) to the global target.",
    code_version=CURATION_CODE_VERSION,
    kinds={"parquet"},
    check_specs=[
        dg.AssetCheckSpec("selection_beats_random", asset="curated_subset", blocking=True)
    ],
    op_tags=k8s_op_tags(cpu="4", memory="16Gi"),
)
def curated_subset(
    context: dg.AssetExecutionContext, acav: AcavHome, config: SubsetConfig
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    tables = acav.tables()
    trained = ClusteringSet.load(acav.storage())
    assigned = tables.read("cluster_assignments")
    candidates = merge_candidates(assigned, tables.read("shard_selections"), trained.version)
    total = assigned.filter(pl.col("clustering_version") == trained.version).height
    target = config.size if config.size is not None else candidates.height
    if config.ratio is not None:
        target = round(config.ratio * total)
    outcome = select_clips(
        candidates,
        trained.columns,
        trained.ks,
        n_select=target,
        progress=log_progress(context, "merge"),
        **config.selector_kwargs(),
    )
    shards = candidates["shard"].gather(outcome.selector.order_)
    subset = outcome.frame.with_columns(shards.alias("from_shard"), pl.lit(target).alias("target"))
    tables.write("curated_subset", SUBSET_SHARD, subset)
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
        }
    )
    yield _objective_check("curated_subset", outcome.objective, outcome.random_objective,
                           subset.height)  # fmt: skip
