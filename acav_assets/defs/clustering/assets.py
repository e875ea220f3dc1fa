"""``clusterings`` (trained once across shards, versioned) and each shard's
``cluster_assignments`` under the current version."""

from collections.abc import Iterator

import dagster as dg
import polars as pl

from acav_assets.core.clustering import ClusteringOptions, ClusteringSet, embedding_sources
from acav_assets.core.features import EmbeddingStore
from acav_assets.defs.config import config_class, to_options
from acav_assets.defs.execution import k8s_op_tags
from acav_assets.defs.markdown import markdown_table
from acav_assets.defs.partitions import SHARD_BACKFILL, shard_partitions
from acav_assets.defs.progress import log_progress
from acav_assets.defs.resources import AcavHome

CLUSTERING_CODE_VERSION = "1"
EMBEDDING_ASSETS = ["audio_embeddings", "visual_embeddings"]

ClusteringConfig = config_class(ClusteringOptions, name="ClusteringConfig")


@dg.asset(
    deps=EMBEDDING_ASSETS,
    group_name="clustering",
    description="k-means per (modality, layer) on a sample across the embedded shards. "
    "Re-materializing is a deliberate re-clustering: a new version that makes the "
    "assignments stale.",
    code_version=CLUSTERING_CODE_VERSION,
    kinds={"faiss"},
    check_specs=[dg.AssetCheckSpec("no_dominant_cluster", asset="clusterings", blocking=True)],
    op_tags=k8s_op_tags(cpu="8", memory="32Gi"),
)
def clusterings(
    context: dg.AssetExecutionContext, acav: AcavHome, config: ClusteringConfig
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    options = to_options(config, ClusteringOptions)
    root = acav.storage()
    store = EmbeddingStore(root)
    sources = embedding_sources(store, options.extractors())
    shards = sorted(set.intersection(*(set(store.shards(s.extractor)) for s in sources)))
    trained = ClusteringSet.train(
        store, sources, shards, options, progress=log_progress(context, "clusterings")
    )
    trained.save(root)
    shares = trained.max_cluster_share()
    ks = dict(zip(trained.columns, trained.ks, strict=True))
    yield dg.MaterializeResult(
        metadata={
            "version": trained.version,
            "shards": len(shards),
            "clusterings (each layer's own)": dg.MetadataValue.md(
                markdown_table(
                    ["clustering", "k", "largest cluster share", "sample"],
                    [
                        (c, ks[c], f"{share:.3f}", sum(trained.sample_sizes[c]))
                        for c, share in shares.items()
                    ],
                )
            ),
            "clusterings in all (with the ensemble's)": len(trained.columns),
        },
        data_version=dg.DataVersion(trained.version),
    )
    dominant = trained.dominant_cluster(options.max_cluster_share)
    if not dominant.judged:
        context.log.warning(dominant.advice())
    yield dg.AssetCheckResult(
        check_name="no_dominant_cluster",
        passed=dominant.passed,
        description=dominant.advice(),
        metadata={
            "worst_clustering": dominant.column,
            "share": dominant.share,
            "sample": dominant.n,
            "limit": dominant.limit,
            "judged": dominant.judged,
        },
    )


@dg.asset(
    deps=["clusterings", *EMBEDDING_ASSETS],
    partitions_def=shard_partitions,
    backfill_policy=SHARD_BACKFILL,
    group_name="clustering",
    description="Every clip of the shard labelled by each clustering of the current version.",
    code_version=CLUSTERING_CODE_VERSION,
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
