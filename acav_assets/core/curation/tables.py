"""Joins between the pipeline's tables that the merge and the export need."""

from __future__ import annotations

import polars as pl


def merge_candidates(
    assignments: pl.DataFrame, winners: pl.DataFrame, version: str
) -> pl.DataFrame:
    """Assignments of the shard winners made under clustering ``version``; a shard selected
    under an older version is left out (its assignments are stale)."""
    current = assignments.filter(pl.col("clustering_version") == version)
    picked = winners.filter(pl.col("clustering_version") == version).select("clip_id", "shard")
    return current.join(picked, on=["clip_id", "shard"], how="inner").sort("shard", "clip_id")


def export_rows(subset: pl.DataFrame, clips: pl.DataFrame, videos: pl.DataFrame) -> pl.DataFrame:
    """The curated clips with their video, URL (or local path), window and media location."""
    video_columns = videos.select(
        "video_id",
        "shard",
        pl.coalesce("url", "path").alias("url"),
    ).unique(["video_id", "shard"])
    clip_columns = clips.select(
        "clip_id", "video_id", "shard", "start_s", "end_s", "media_path", "media_start_s"
    )
    return (
        subset.select("clip_id", "rank", pl.col("from_shard").alias("shard"))
        .join(clip_columns, on=["clip_id", "shard"], how="left")
        .join(video_columns, on=["video_id", "shard"], how="left")
        .sort("rank")
    )
