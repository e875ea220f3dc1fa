"""Shards of a manifest and their registration in table ``sources``.

A shard is the unit of work of every later stage (one Dagster partition): at most
``shard_size`` videos, all rows of a video in the same shard, videos numbered by their first
line. Its key comes from the manifest's name, its content hash and the shard's index, so
registering the same file again yields the same keys and replaces the same rows.

Registration streams: the manifest is read once into a Parquet spill file in a scratch
folder (one batch in memory), DuckDB numbers the videos and orders the rows by shard within
a fixed memory limit (spilling to disk beyond it), and the shards are written as they come
out, a few at a time. Memory stays flat whatever the number of rows; the scratch folder
needs about 30 bytes a row.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import logging
import os
import posixpath
import re
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from acav_assets.core.catalog.schemas import TABLE_SCHEMAS
from acav_assets.core.catalog.tables import TableStore
from acav_assets.core.media.manifest import (
    ROW_SCHEMA,
    Manifest,
    ManifestError,
    ManifestReader,
)
from acav_assets.core.media.options import IngestOptions
from acav_assets.core.storage import StorageRoot, check_key

log = logging.getLogger(__name__)

SOURCES_TABLE = "sources"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
# DuckDB's share of the registration's memory; beyond it, its sort and join spill to disk.
DUCKDB_MEMORY = "128MB"
_WRITERS = 8  # shards written at once: each write waits on the disk (fsync) or the network
_SHARD = "_shard"
# Videos numbered by their first line, cut every $size; rows in shard order, then file order.
_PLAN = f"""
WITH firsts AS (SELECT video_id, min(line) AS first FROM rows GROUP BY video_id),
     ranked AS (
        SELECT video_id, (row_number() OVER (ORDER BY first) - 1) // $size AS {_SHARD}
        FROM firsts
     )
SELECT rows.*, ranked.{_SHARD} FROM rows JOIN ranked USING (video_id)
ORDER BY ranked.{_SHARD}, rows.line
"""


_REPEATS = "SELECT count(*) FROM (SELECT 1 FROM rows GROUP BY video_id HAVING count(*) > 1)"


@dataclass(frozen=True)
class ManifestShard:
    """One shard of a manifest: its stable key and its rows (a slice of ``Manifest.rows``)."""

    key: str
    index: int
    rows: pl.DataFrame

    @property
    def n_videos(self) -> int:
        return self.rows["video_id"].n_unique()


def shard_prefix(source: str, sha256: str) -> str:
    """``<name>-<hash12>``: readable in the UI, distinct for two files with one name; every
    shard key of the manifest starts with it and a dash."""
    name = os.path.basename(source.rstrip("/")) or "manifest"
    stem = _UNSAFE.sub("_", os.path.splitext(name)[0] if "." in name[1:] else name)
    stem = stem.strip("._-")[:48] or "manifest"
    return f"{stem}-{sha256[:12]}"


def _check_shard_size(shard_size: object) -> None:
    if not isinstance(shard_size, int) or isinstance(shard_size, bool) or shard_size < 1:
        raise ValueError(f"shard_size must be a positive integer, got {shard_size!r}")


@contextlib.contextmanager
def _planner(scratch: str) -> Iterator[duckdb.DuckDBPyConnection]:
    config = {
        "memory_limit": DUCKDB_MEMORY,
        "threads": 2,
        "temp_directory": os.path.join(scratch, "duckdb"),
        "preserve_insertion_order": False,
    }
    con = duckdb.connect(config=config)
    con.execute("SET enable_progress_bar = false")
    try:
        yield con
    finally:
        con.close()


def _numbered(batches: Iterator[pa.RecordBatch], shard_size: int) -> Iterator[pa.RecordBatch]:
    """Rows in file order, each video once: the shard is the row's number // ``shard_size``."""
    done = 0
    for batch in batches:
        shards = (np.arange(done, done + batch.num_rows) // shard_size).astype(np.int64)
        done += batch.num_rows
        yield batch.append_column(_SHARD, pa.array(shards))


def _cut(batches: Iterator[pa.RecordBatch]) -> Iterator[tuple[int, pa.Table]]:
    """Rows in shard order as ``(index, rows)`` of each shard, one shard at a time."""
    current, pieces = None, []
    for batch in batches:
        table = pa.Table.from_batches([batch])
        shards = table.column(_SHARD).to_numpy()
        starts = [0, *(np.flatnonzero(np.diff(shards)) + 1).tolist()]
        for start, end in zip(starts, [*starts[1:], len(shards)], strict=True):
            index = int(shards[start])
            if index != current and pieces:
                yield current, pa.concat_tables(pieces).drop([_SHARD])
                pieces = []
            current = index
            pieces.append(table.slice(start, end - start))
    if pieces:
        yield current, pa.concat_tables(pieces).drop([_SHARD])


def _sharded(
    scratch: str,
    rows: Callable[[duckdb.DuckDBPyConnection], duckdb.DuckDBPyRelation],
    in_order: Callable[[], Iterator[pa.RecordBatch]],
    shard_size: int,
) -> Iterator[tuple[int, pa.Table]]:
    """``(index, rows)`` of each shard in order, one shard in memory at a time. ``rows``
    gives DuckDB the manifest's rows, ``in_order`` reads them in file order: a list that
    names each video once (most do) is cut as it is read; otherwise DuckDB numbers the
    videos by their first line and sorts."""
    with _planner(scratch) as con:
        con.register("rows", rows(con))
        ((repeated,),) = con.sql(_REPEATS).fetchall()
    if not repeated:
        yield from _cut(_numbered(in_order(), shard_size))
        return
    with _planner(scratch) as con:
        con.register("rows", rows(con))
        yield from _cut(con.sql(_PLAN, params={"size": shard_size}).to_arrow_reader(65_536))


def shard_manifest(
    manifest: Manifest, shard_size: int = IngestOptions.shard_size
) -> list[ManifestShard]:
    """Split a manifest in memory into shards of at most ``shard_size`` videos, in file order."""
    _check_shard_size(shard_size)
    prefix = shard_prefix(manifest.source, manifest.sha256)
    arrow = manifest.rows.to_arrow()
    with tempfile.TemporaryDirectory(prefix="acav-shards-") as scratch:
        return [
            ManifestShard(check_key("shard", f"{prefix}-{index:05d}"), index, pl.from_arrow(table))
            for index, table in _sharded(
                scratch,
                lambda con: con.from_arrow(arrow),
                lambda: iter(arrow.to_batches(65_536)),
                shard_size,
            )
        ]


def _spill(reader: ManifestReader, path: str) -> None:
    """Every checked row of the manifest into one Parquet file, a batch at a time, in the
    column types of table ``sources`` (so no shard needs a cast)."""
    declared = TABLE_SCHEMAS[SOURCES_TABLE]
    schema = pa.schema([declared.field(name) for name in ROW_SCHEMA])
    with pq.ParquetWriter(path, schema, compression="lz4") as writer:  # read once, soon
        for batch in reader.batches():
            writer.write_table(batch.to_arrow().cast(schema))


def register_manifest(
    path: str | os.PathLike[str],
    tables: TableStore,
    shard_size: int = IngestOptions.shard_size,
    scratch_dir: str | None = None,
) -> list[str]:
    """Check the whole manifest, then write its shards to ``sources``; return their keys.
    A manifest URL (``s3://...``) is read with the credentials of the tables' root.

    All or nothing: a bad line raises ``ManifestError`` before anything is written, and a
    failed write removes the shards this call had written. Memory stays flat in the number
    of rows; ``scratch_dir`` (default: the system's) holds the spill.
    """
    _check_shard_size(shard_size)
    reader = ManifestReader(path, tables.root)
    written: list[str] = []
    with tempfile.TemporaryDirectory(prefix="acav-register-", dir=scratch_dir) as scratch:
        spill = os.path.join(scratch, "rows.parquet")
        _spill(reader, spill)
        prefix = shard_prefix(reader.source, str(reader.sha256))
        extra = {
            "source": pa.scalar(reader.source),
            "source_sha256": pa.scalar(reader.sha256),
            "registered_at": pa.scalar(datetime.now(UTC), pa.timestamp("us", tz="UTC")),
        }

        def write(index: int, table: pa.Table) -> str:
            key = check_key("shard", f"{prefix}-{index:05d}")
            for name, value in extra.items():
                table = table.append_column(name, pa.repeat(value, table.num_rows))
            tables.write(SOURCES_TABLE, key, table)
            return key

        pending: collections.deque[Future[str]] = collections.deque()
        try:
            with ThreadPoolExecutor(_WRITERS) as pool:
                shards = _sharded(
                    scratch,
                    lambda con: con.read_parquet(spill),
                    # pre_buffer would read the whole file into memory first
                    lambda: pq.ParquetFile(spill, pre_buffer=False).iter_batches(),
                    shard_size,
                )
                for index, table in shards:
                    pending.append(pool.submit(write, index, table))
                    while len(pending) > 2 * _WRITERS or (pending and pending[0].done()):
                        written.append(pending.popleft().result())
                while pending:
                    written.append(pending.popleft().result())
        except BaseException:
            for future in pending:
                with contextlib.suppress(Exception):
                    written.append(future.result())
            for key in written:
                tables.delete(SOURCES_TABLE, key)
            raise
    log.info("registered %s: %d rows in %d shards", reader.source, reader.n_rows, len(written))
    return written


@dataclass(frozen=True)
class Registration:
    """What registering one manifest gave: its shard keys, or why it was refused."""

    manifest: str
    shards: tuple[str, ...] = ()
    error: str | None = None


def register_manifests(paths: list[str], tables: TableStore, shard_size: int) -> list[Registration]:
    """Register each manifest on its own: a malformed one is refused with its reason and
    does not hold back the others."""
    registrations = []
    for path in paths:
        try:
            keys = register_manifest(path, tables, shard_size)
        except ManifestError as error:
            log.warning("refused manifest %s: %s", path, error)
            registrations.append(Registration(path, error=str(error)))
        else:
            registrations.append(Registration(path, tuple(keys)))
    return registrations


def dropped_manifests(root: StorageRoot) -> list[str]:
    """The files in ``<root>/sources``, as paths or (remote root) URLs."""
    return [
        root.uri("sources", posixpath.basename(p))
        for p in root.glob("sources", "*")
        if root.fs.isfile(p)
    ]


def manifest_digest(root: StorageRoot, uri: str) -> str:
    """The sha256 of a dropped manifest's bytes (what its shard keys are made of), read as a
    stream."""
    digest = hashlib.sha256()
    with root.fs.open(uri, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
