"""The curated set as ACAV published it (video, start, end) in CSV and Parquet, and,
when asked, WebDataset tar shards holding each clip's file and embeddings."""

from __future__ import annotations

import io
import json
import os
import posixpath
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from acav_assets.core.export.options import ExportOptions
from acav_assets.core.features.store import EmbeddingStore
from acav_assets.core.media.containers import input_args
from acav_assets.core.storage import StorageRoot, check_key

# The ACAV100M form (video, start, end) plus our stable ids; `url` is the URL, or the local
# path of a video read in place.
EXPORT_COLUMNS = ["rank", "clip_id", "video_id", "url", "start_s", "end_s"]
# Where the clip's window lies in the stored media, for cutting clip files.
MEDIA_COLUMNS = ["media_path", "media_start_s"]


@dataclass(frozen=True)
class ExportResult:
    folder: str
    rows: int
    files: list[str] = field(default_factory=list)


def cut_clip(source: str, start_s: float, end_s: float, timeout_s: float = 120.0) -> bytes:
    """An mp4 of one window, re-encoded so the cut is frame-accurate."""
    with tempfile.TemporaryDirectory() as tmp:
        out = posixpath.join(tmp, "clip.mp4")
        command = [
            "ffmpeg", "-nostdin", "-loglevel", "error", "-y",
            "-ss", f"{start_s:.3f}", *input_args(source), "-t", f"{end_s - start_s:.3f}",
            "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac", "-movflags", "+faststart",
            out,
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
        if result.returncode != 0:
            raise ValueError(f"cannot cut {source} [{start_s}, {end_s}]: {result.stderr[-500:]}")
        with open(out, "rb") as handle:
            return handle.read()


def _tar_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _cut_clips(root: StorageRoot, rows: pl.DataFrame) -> dict[str, bytes]:
    """Each row's clip file by clip id, fetching each remote video once."""
    clips = {}
    for (media_path,), group in rows.group_by("media_path", maintain_order=True):
        with root.local_file(media_path) as source:
            for row in group.iter_rows(named=True):
                start = row["media_start_s"]
                end = start + row["end_s"] - row["start_s"]
                clips[row["clip_id"]] = cut_clip(source, start, end)
    return clips


def _write_webdataset(
    root: StorageRoot,
    folder: str,
    rows: pl.DataFrame,
    embeddings: Callable[[str], Mapping[str, np.ndarray]] | None,
    clips_per_shard: int,
) -> list[str]:
    files = []
    for start in range(0, rows.height, clips_per_shard):
        path = posixpath.join(folder, "webdataset", f"shard-{start // clips_per_shard:06d}.tar")
        shard_rows = rows.slice(start, clips_per_shard)
        clips = _cut_clips(root, shard_rows)
        with root.open_atomic(path) as handle, tarfile.open(fileobj=handle, mode="w") as tar:
            for row in shard_rows.iter_rows(named=True):
                key = row["clip_id"]
                _tar_member(tar, f"{key}.mp4", clips[key])
                described = {c: row[c] for c in EXPORT_COLUMNS}
                _tar_member(tar, f"{key}.json", json.dumps(described, default=str).encode())
                if embeddings is not None:
                    buffer = io.BytesIO()
                    np.savez(buffer, **dict(embeddings(key)))
                    _tar_member(tar, f"{key}.embeddings.npz", buffer.getvalue())
        files.append(path)
    return files


def embedding_lookup(
    store: EmbeddingStore, extractors: Mapping[str, str], clip_ids: list[str]
) -> Callable[[str], dict[str, np.ndarray]]:
    """Every layer of every modality for ``clip_ids``, as ``{"audio_0": vector, ...}``."""
    wanted = set(clip_ids)
    by_clip: dict[str, dict[str, np.ndarray]] = {c: {} for c in clip_ids}
    for modality, extractor in extractors.items():
        for layer in store.layers(extractor):
            ids, X = store.read(extractor, layer)
            for row, clip in enumerate(ids):
                if clip in wanted:
                    by_clip[clip][f"{modality}_{layer}"] = X[row].astype(np.float16)
    return by_clip.__getitem__


def export_subset(
    root: StorageRoot,
    name: str,
    rows: pl.DataFrame,
    *,
    webdataset: bool = False,
    embeddings: Callable[[str], Mapping[str, np.ndarray]] | None = None,
    clips_per_shard: int = ExportOptions.clips_per_tar,
) -> ExportResult:
    """Write ``exports/<name>/subset.{csv,parquet}`` (rows ordered by rank) and, with
    ``webdataset``, tar shards of the clip files. Every file is replaced atomically."""
    needed = EXPORT_COLUMNS + (MEDIA_COLUMNS if webdataset else [])
    missing = [c for c in needed if c not in rows.columns]
    if missing:
        raise ValueError(f"export rows lack columns {missing}")
    folder = root.path("exports", check_key("export", name))
    ordered = rows.select(needed).sort("rank")
    csv_path = posixpath.join(folder, "subset.csv")
    parquet_path = posixpath.join(folder, "subset.parquet")
    published = ordered.select(EXPORT_COLUMNS)
    root.write_bytes(csv_path, published.write_csv().encode())
    with root.open_atomic(parquet_path) as handle:
        pq.write_table(published.to_arrow(), handle, compression="zstd")
    files = [csv_path, parquet_path]
    if webdataset:
        files += _write_webdataset(root, folder, ordered, embeddings, clips_per_shard)
    return ExportResult(folder=folder, rows=ordered.height, files=files)


def copy_export(root: StorageRoot, name: str, out_dir: str) -> list[str]:
    """Copy every file of ``exports/<name>/`` (the tables and any WebDataset tars) into the
    local folder ``out_dir``, keeping the layout; returns the copies' paths."""
    folder = root.path("exports", check_key("export", name))
    copies = []
    for path in sorted(root.fs.find(folder)):
        relative = posixpath.relpath(path, folder)
        target = os.path.join(out_dir, *relative.split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        root.fs.get(path, target)
        copies.append(os.path.abspath(target))
    return copies
