"""The curated clips joined to their clips and videos rows: what the export writes."""

from __future__ import annotations

import polars as pl

from acav_assets.core.redaction import redact


def export_rows(subset: pl.DataFrame, clips: pl.DataFrame, videos: pl.DataFrame) -> pl.DataFrame:
    """The curated clips with their video, URL (or local path; without credentials), window
    and media location."""
    video_columns = videos.select(
        "video_id",
        "shard",
        pl.coalesce("url", "path").map_elements(redact, return_dtype=pl.String).alias("url"),
    ).unique(["video_id", "shard"])
    clip_columns = clips.select(
        "clip_id", "video_id", "shard", "start_s", "end_s", "media_path", "media_start_s"
    )
    return (
        subset.select("clip_id", "rank", "contribution", pl.col("from_shard").alias("shard"))
        .join(clip_columns, on=["clip_id", "shard"], how="left")
        .join(video_columns, on=["video_id", "shard"], how="left")
        .sort("rank")
    )
