"""``curated_export``: CSV and Parquet (video, start, end), optional WebDataset shards."""

from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg
import polars as pl

from acav_assets.core.clustering import ClusteringSet
from acav_assets.core.export import ExportOptions, embedding_lookup, export_rows, export_subset
from acav_assets.core.features import EmbeddingStore
from acav_assets.core.selection import read_curated_subset
from acav_assets.defs.config import config_class, to_options
from acav_assets.defs.execution import k8s_op_tags
from acav_assets.defs.markdown import markdown_table
from acav_assets.defs.resources import AcavHome

EXPORT_CODE_VERSION = "1"


ExportConfig = config_class(ExportOptions, name="ExportConfig")


@dg.asset(
    deps=["curated_subset"],
    group_name="export",
    description="The curated set as ACAV published it (video id or URL, start, end) in CSV and "
    "Parquet, and optionally WebDataset tars of clip files with their embeddings.",
    code_version=EXPORT_CODE_VERSION,
    kinds={"csv", "parquet"},
    check_specs=[
        dg.AssetCheckSpec("row_count_matches_target", asset="curated_export", blocking=True)
    ],
    op_tags=k8s_op_tags(cpu="2", memory="8Gi", ephemeral_storage="50Gi"),
    pool="catalog_writes",
)
def curated_export(
    context: dg.AssetExecutionContext, acav: AcavHome, config: ExportConfig
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    options = to_options(config, ExportOptions)
    root, tables = acav.storage(), acav.tables()
    subset = read_curated_subset(root, tables)
    rows = export_rows(subset, tables.read("clips"), tables.read("videos"))
    lookup = None
    if options.webdataset:
        extractors = {s.modality: s.extractor for s in ClusteringSet.load(root).sources}
        lookup = embedding_lookup(EmbeddingStore(root), extractors, rows["clip_id"].to_list())
    result = export_subset(
        root,
        options.name,
        rows,
        webdataset=options.webdataset,
        embeddings=lookup,
        clips_per_shard=options.clips_per_tar,
    )
    failed = pl.DataFrame(
        [(f.clip_id, str(f.reason), f.detail) for f in result.failures],
        schema={"clip_id": pl.String, "reason": pl.String, "detail": pl.String},
        orient="row",
    )
    for failure in result.failures[:5]:
        context.log.warning(f"clip {failure.clip_id} has no file: {failure.reason}")
    tables.write(
        "exports",
        options.name,
        rows.select("clip_id", "rank")
        .join(failed, on="clip_id", how="left")
        .with_columns(
            pl.when(pl.col("reason").is_null())
            .then(pl.lit("ok"))
            .otherwise(pl.lit("failed"))
            .alias("status"),
            pl.lit(datetime.now(UTC)).alias("exported_at"),
            pl.lit(context.run.run_id).alias("run_id"),
            pl.lit(EXPORT_CODE_VERSION).alias("code_version"),
        ),
    )
    preview = rows.head(10).select("rank", "video_id", "url", "start_s", "end_s")
    yield dg.MaterializeResult(
        metadata={
            "rows": result.rows,
            "clips_not_cut": len(result.failures),
            "folder": dg.MetadataValue.path(result.folder),
            "files": len(result.files),
            "preview": dg.MetadataValue.md(markdown_table(preview.columns, preview.iter_rows())),
        }
    )
    target = int(subset["target"].max()) if subset.height else 0
    yield dg.AssetCheckResult(
        check_name="row_count_matches_target",
        passed=result.rows == target,
        metadata={"rows": result.rows, "target": target},
    )
