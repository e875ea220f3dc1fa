"""The curated set as ACAV published it (video, start, end) in CSV and Parquet, and,
when asked, WebDataset tar shards holding each clip's file and embeddings.

An export is built in a staging folder and replaces the previous one as a whole, so a
reader never sees a half-written export nor a stale tar shard of a bigger earlier one. Tar
shards are written as a stream, one cut clip at a time. A clip that cannot be cut is a
``ClipFailure`` of the result (the asset records it with its reason), not an aborted export.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import posixpath
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from acav_assets.core.export.options import ExportOptions
from acav_assets.core.features.store import EmbeddingStore
from acav_assets.core.media.containers import input_args
from acav_assets.core.reasons import Reason
from acav_assets.core.redaction import redact
from acav_assets.core.storage import StorageRoot, check_key

log = logging.getLogger(__name__)

# The ACAV100M form (video, start, end) plus our stable ids; `url` is the URL, or the local
# path of a video read in place; `contribution` is what the clip adds to the subset's total
# information (its pointwise MI), so a user can cut the subset at a threshold of their own.
EXPORT_COLUMNS = ["rank", "clip_id", "video_id", "url", "start_s", "end_s", "contribution"]
# Where the clip's window lies in the stored media, for cutting clip files.
MEDIA_COLUMNS = ["media_path", "media_start_s"]


class CutError(Exception):
    """A clip whose file could not be made; carries its reason code."""

    def __init__(self, reason: Reason, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


@dataclass(frozen=True)
class ClipFailure:
    """A clip of the export without a file in the tar shards, and why."""

    clip_id: str
    reason: Reason
    detail: str


@dataclass(frozen=True)
class ExportResult:
    folder: str
    rows: int
    files: list[str] = field(default_factory=list)
    failures: list[ClipFailure] = field(default_factory=list)


def cut_clip(
    source: str, start_s: float, end_s: float, out_path: str, timeout_s: float = 120.0
) -> None:
    """Write an mp4 of one window to ``out_path``, re-encoded so the cut is frame-accurate;
    raise ``CutError``."""
    command = [
        "ffmpeg", "-nostdin", "-loglevel", "error", "-y",
        "-ss", f"{start_s:.3f}", *input_args(source), "-t", f"{end_s - start_s:.3f}",
        "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac", "-movflags", "+faststart",
        "-f", "mp4", out_path,
    ]  # fmt: skip
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as error:
        raise CutError(Reason.DECODE_ERROR, f"cutting took more than {timeout_s} s") from error
    if result.returncode != 0 or not os.path.getsize(out_path):
        said = result.stderr.strip().splitlines()[-1:] or ["no output"]
        raise CutError(
            Reason.DECODE_ERROR, f"cannot cut {source} [{start_s}, {end_s}]: {said[0][:300]}"
        )


def _tar_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


@contextlib.contextmanager
def _local_media(root: StorageRoot, media_path: str) -> Iterator[str]:
    """The clip's video on local disk; ``CutError`` when it is not there to cut."""
    try:
        with root.local_file(media_path) as source:
            if not os.path.isfile(source):
                raise CutError(Reason.FILE_NOT_FOUND, f"{media_path} does not exist")
            yield source
    except (FileNotFoundError, PermissionError) as error:
        raise CutError(Reason.FILE_NOT_FOUND, f"{media_path}: {error}") from error


def _write_tar(
    root: StorageRoot,
    path: str,
    rows: pl.DataFrame,
    embeddings: Callable[[str], Mapping[str, np.ndarray]] | None,
    scratch: str,
) -> list[ClipFailure]:
    """One tar shard, streamed: each clip is cut to scratch, added, and deleted."""
    failures = []
    with root.fs.open(path, "wb") as handle, tarfile.open(fileobj=handle, mode="w") as tar:
        for (media_path,), group in rows.group_by("media_path", maintain_order=True):
            try:
                with _local_media(root, media_path) as source:
                    for row in group.iter_rows(named=True):
                        failure = _add_clip(tar, source, row, embeddings, scratch)
                        if failure is not None:
                            failures.append(failure)
            except CutError as error:
                failures += [ClipFailure(c, error.reason, error.detail) for c in group["clip_id"]]
    return failures


def _add_clip(
    tar: tarfile.TarFile,
    source: str,
    row: dict,
    embeddings: Callable[[str], Mapping[str, np.ndarray]] | None,
    scratch: str,
) -> ClipFailure | None:
    key = row["clip_id"]
    start = row["media_start_s"]
    clip = os.path.join(scratch, "clip.mp4")
    try:
        cut_clip(source, start, start + row["end_s"] - row["start_s"], clip)
    except CutError as error:
        log.warning("export: clip %s not cut: %s", key, error.detail)
        return ClipFailure(key, error.reason, error.detail)
    tar.add(clip, arcname=f"{key}.mp4", recursive=False)
    os.remove(clip)
    described = {c: row[c] for c in EXPORT_COLUMNS}
    _tar_bytes(tar, f"{key}.json", json.dumps(described, default=str).encode())
    if embeddings is not None:
        buffer = io.BytesIO()
        np.savez(buffer, **dict(embeddings(key)))
        _tar_bytes(tar, f"{key}.embeddings.npz", buffer.getvalue())
    return None


def _write_webdataset(
    root: StorageRoot,
    folder: str,
    rows: pl.DataFrame,
    embeddings: Callable[[str], Mapping[str, np.ndarray]] | None,
    clips_per_shard: int,
) -> tuple[list[str], list[ClipFailure]]:
    files, failures = [], []
    with tempfile.TemporaryDirectory(prefix="acav-export-") as scratch:
        for start in range(0, rows.height, clips_per_shard):
            name = f"shard-{start // clips_per_shard:06d}.tar"
            path = posixpath.join(folder, "webdataset", name)
            root.fs.makedirs(posixpath.dirname(path), exist_ok=True)
            shard_rows = rows.slice(start, clips_per_shard)
            failures += _write_tar(root, path, shard_rows, embeddings, scratch)
            files.append(name)
    return files, failures


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
    """Write ``exports/<name>/subset.{csv,parquet}`` (rows ordered by rank, URLs without
    credentials) and, with ``webdataset``, tar shards of the clip files; the new export
    replaces the old one as a whole, and a failure leaves the old one as it was."""
    needed = EXPORT_COLUMNS + (MEDIA_COLUMNS if webdataset else [])
    missing = [c for c in needed if c not in rows.columns]
    if missing:
        raise ValueError(f"export rows lack columns {missing}")
    folder = root.path("exports", check_key("export", name))
    ordered = rows.select(needed).sort("rank")
    ordered = ordered.with_columns(pl.col("url").map_elements(redact, return_dtype=pl.String))
    published = ordered.select(EXPORT_COLUMNS)
    for abandoned in root.glob("exports", f".{name}.*.staging"):  # a killed export's
        log.info("removing %s, left by an export that did not finish", abandoned)
        root.fs.rm(abandoned, recursive=True)
    staging = root.staging_folder(folder)
    try:
        root.fs.makedirs(staging, exist_ok=True)
        with root.fs.open(posixpath.join(staging, "subset.csv"), "wb") as handle:
            published.write_csv(handle)
        with root.fs.open(posixpath.join(staging, "subset.parquet"), "wb") as handle:
            pq.write_table(published.to_arrow(), handle, compression="zstd")
        names, failures = ["subset.csv", "subset.parquet"], []
        if webdataset:
            tars, failures = _write_webdataset(root, staging, ordered, embeddings, clips_per_shard)
            names += [posixpath.join("webdataset", tar) for tar in tars]
        root.replace_folder(staging, folder)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            root.fs.rm(staging, recursive=True)
        raise
    files = [posixpath.join(folder, n) for n in names]
    return ExportResult(folder=folder, rows=ordered.height, files=files, failures=failures)


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
