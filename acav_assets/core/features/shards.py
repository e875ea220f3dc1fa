"""Embedding every ingested shard that lacks embeddings for the current extractor versions.

The front for ``acav embed`` (and a reference for the assets): clip windows come from the
``clips`` table joined with the ``ok`` rows of ``videos``; each (extractor, shard) is done
when its ``_meta.json`` names the extractor's current version.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable

import polars as pl

from acav_assets.core.catalog.tables import TableStore
from acav_assets.core.features.base import Extractor
from acav_assets.core.features.extract import ExtractionResult, extract_clips
from acav_assets.core.features.options import FeatureOptions
from acav_assets.core.features.store import EmbeddingStore, write_status
from acav_assets.core.storage import StorageRoot

log = logging.getLogger(__name__)


def clip_windows(tables: TableStore, shard: str) -> pl.DataFrame:
    """Columns clip_id, path, start_s, end_s of the shard's clips whose video is ``ok``.

    The window is read from the clip's ``media_path`` at ``media_start_s`` when ingest
    recorded them (a downloaded section starts at 0), else from the video's own file.
    """
    clips = tables.read("clips", [shard])
    videos = tables.read("videos", [shard]).filter(pl.col("status") == "ok")
    empty = {"clip_id": pl.String, "path": pl.String, "start_s": pl.Float64, "end_s": pl.Float64}
    if clips.height == 0 or videos.height == 0:
        return pl.DataFrame(schema=empty)
    for column, dtype in (("media_path", pl.String), ("media_start_s", pl.Float64)):
        if column not in clips.columns:
            clips = clips.with_columns(pl.lit(None, dtype=dtype).alias(column))
    start = pl.coalesce("media_start_s", "start_s")
    return (
        clips.join(
            videos.select("video_id", pl.col("path").alias("video_path")).unique("video_id"),
            on="video_id",
            how="inner",
        )
        .select(
            "clip_id",
            pl.coalesce("media_path", "video_path").alias("path"),
            start.alias("start_s"),
            (start + pl.col("end_s") - pl.col("start_s")).alias("end_s"),
        )
        .filter(pl.col("path").is_not_null())
        .sort("clip_id")
    )


def pending_shards(
    store: EmbeddingStore, tables: TableStore, extractors: list[Extractor], force: bool = False
) -> dict[str, list[Extractor]]:
    """Shard -> the extractors whose current version has not embedded it."""
    pending: dict[str, list[Extractor]] = {}
    for shard in tables.shards("clips"):
        todo = [
            e
            for e in extractors
            if force or (store.meta(e.name, shard) or {}).get("version") != e.version
        ]
        if todo:
            pending[shard] = todo
    return pending


def _localise(root: StorageRoot, windows: pl.DataFrame, folder: str) -> pl.DataFrame:
    """Remote media copied into ``folder`` (torchcodec decodes local files)."""
    remote = [
        p for p in windows["path"].unique().to_list() if "://" in p and not p.startswith("file://")
    ]
    mapping = {}
    for path in remote:
        local = os.path.join(folder, f"{len(mapping)}-{os.path.basename(path)}")
        root.fs.get(path, local)
        mapping[path] = local
    return windows.with_columns(pl.col("path").str.strip_prefix("file://").replace(mapping))


def save_result(
    store: EmbeddingStore, extractor: Extractor, shard: str, result: ExtractionResult
) -> None:
    """Write every layer, then the shard's metadata that marks it complete."""
    for layer_index, (ids, X) in result.embeddings.items():
        store.write(extractor.name, shard, layer_index, ids, X)
    store.write_meta(
        extractor.name,
        shard,
        {
            "extractor": extractor.name,
            "version": extractor.version,
            "modality": extractor.modality,
            "layers": [list(layer) for layer in extractor.layers],
            "n_clips": result.counters["total"],
            "n_ok": result.counters["ok"],
        },
    )


def embed_shards(
    root: StorageRoot,
    extractors: list[Extractor],
    *,
    shards: list[str] | None = None,
    force: bool = False,
    batch_size: int = FeatureOptions.batch_size,
    num_workers: int = FeatureOptions.num_workers,
    device: str | None = FeatureOptions.device,
    progress: Callable[[int, int], None] | None = None,
    run_id: str | None = None,
    scratch_dir: str | None = None,
) -> dict[str, float | int | list[str]]:
    """Embed the pending shards (or only ``shards``); returns counters for the summary.

    ``progress(done, total)`` counts (clip, extractor) pairs over all pending shards.
    """
    began = time.perf_counter()
    tables, store = TableStore(root), EmbeddingStore(root)
    extractors = [e.on(device) if device is not None else e for e in extractors]
    pending = pending_shards(store, tables, extractors, force)
    if shards is not None:
        unknown = sorted(set(shards) - set(tables.shards("clips")))
        if unknown:
            raise ValueError(f"shards {unknown} have no clips; known: {tables.shards('clips')}")
        pending = {s: todo for s, todo in pending.items() if s in shards}
    windows = {shard: clip_windows(tables, shard) for shard in pending}
    total = sum(windows[s].height * len(todo) for s, todo in pending.items())
    done = 0
    counters: Counter = Counter()
    for shard, todo in pending.items():
        with tempfile.TemporaryDirectory(prefix="acav-embed-", dir=scratch_dir) as folder:
            local = _localise(root, windows[shard], folder) if not root.is_local else windows[shard]
            offset, width = done, len(todo)

            def report(n: int, _: int, offset: int = offset, width: int = width) -> None:
                if progress is not None:
                    progress(offset + n * width, total)

            results = extract_clips(
                local,
                todo,
                batch_size=batch_size,
                num_workers=num_workers,
                device=None,
                progress=report,
                run_id=run_id,
            )
            statuses = []
            for extractor in todo:
                result = results[extractor.name]
                save_result(store, extractor, shard, result)
                statuses.append(result.status)
                for key, value in result.counters.items():
                    counters[f"{extractor.name}.{key}"] += value
            done = offset + local.height * width
            write_status(tables, shard, pl.concat(statuses))
        log.info("embedded shard %s with %s", shard, [e.name for e in todo])
    return {
        "shards": sorted(pending),
        "extractors": [f"{e.name}:{e.version}" for e in extractors],
        "clips": total,
        **{k: round(v, 3) if isinstance(v, float) else v for k, v in sorted(counters.items())},
        "seconds": round(time.perf_counter() - began, 3),
    }
