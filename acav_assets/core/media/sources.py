"""Shards of a manifest and their registration in table ``sources``.

A shard is the unit of work of every later stage (one Dagster partition): at most
``shard_size`` videos, all rows of a video in the same shard. Its key comes from the
manifest's name, its content hash and the shard's index, so registering the same file again
yields the same keys and replaces the same rows.
"""

from __future__ import annotations

import hashlib
import logging
import os
import posixpath
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from acav_assets.core.catalog.tables import TableStore
from acav_assets.core.media.manifest import Manifest, ManifestError, load_manifest
from acav_assets.core.media.options import IngestOptions
from acav_assets.core.storage import StorageRoot, check_key

log = logging.getLogger(__name__)

SOURCES_TABLE = "sources"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


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


def shard_manifest(
    manifest: Manifest, shard_size: int = IngestOptions.shard_size
) -> list[ManifestShard]:
    """Split ``manifest`` into shards of at most ``shard_size`` videos, in file order."""
    if not isinstance(shard_size, int) or shard_size < 1:
        raise ValueError(f"shard_size must be a positive integer, got {shard_size!r}")
    rows = manifest.rows.with_row_index("_order")
    first_seen = rows.group_by("video_id").agg(pl.col("_order").min().alias("_first"))
    ranked = first_seen.sort("_first").with_row_index("_rank")
    rows = rows.join(ranked.select("video_id", "_rank"), on="video_id").sort("_order")
    rows = rows.with_columns((pl.col("_rank") // shard_size).alias("_shard"))
    prefix = shard_prefix(manifest.source, manifest.sha256)
    shards = []
    for index, part in enumerate(rows.partition_by("_shard", maintain_order=True)):
        key = check_key("shard", f"{prefix}-{index:05d}")
        shards.append(ManifestShard(key, index, part.drop("_order", "_rank", "_shard")))
    return shards


def register_manifest(
    path: str | os.PathLike[str],
    tables: TableStore,
    shard_size: int = IngestOptions.shard_size,
) -> list[str]:
    """Check the whole manifest, then write its shards to ``sources``; return their keys.
    A manifest URL (``s3://...``) is read with the credentials of the tables' root.

    All or nothing: a bad line raises ``ManifestError`` before anything is written, and a
    failed write removes the shards this call had written.
    """
    manifest = load_manifest(path, tables.root)
    shards = shard_manifest(manifest, shard_size=shard_size)
    now = datetime.now(UTC)
    written: list[str] = []
    try:
        for shard in shards:
            frame = shard.rows.with_columns(
                pl.lit(manifest.source).alias("source"),
                pl.lit(manifest.sha256).alias("source_sha256"),
                pl.lit(now).alias("registered_at"),
            )
            tables.write(SOURCES_TABLE, shard.key, frame)
            written.append(shard.key)
    except BaseException:
        for key in written:
            tables.delete(SOURCES_TABLE, key)
        raise
    log.info(
        "registered %s: %d videos in %d shards", manifest.source, manifest.n_videos, len(shards)
    )
    return [shard.key for shard in shards]


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
    """The sha256 of a dropped manifest's bytes (what its shard keys are made of)."""
    return hashlib.sha256(root.read_bytes(uri)).hexdigest()
