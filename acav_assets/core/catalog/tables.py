"""Parquet tables, one file per (table, shard), replaced atomically.

Layout: ``tables/<table>/shard=<key>/part-0.parquet``. The shard lives in the path (hive
partitioning), not in the file. Re-writing a shard replaces its file, so a re-run never
duplicates rows; two processes writing different shards touch different files.
"""

from __future__ import annotations

import logging
import posixpath

import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from pyarrow.fs import FSSpecHandler, PyFileSystem

from acav_assets.core.catalog.schemas import TABLE_SCHEMAS, conform
from acav_assets.core.storage import StorageRoot, check_key

log = logging.getLogger(__name__)

PART_NAME = "part-0.parquet"


class TableStore:
    """Reads and writes the pipeline's tables under ``<root>/tables``."""

    def __init__(self, root: StorageRoot) -> None:
        self.root = root

    def table_dir(self, table: str) -> str:
        return self.root.path("tables", check_key("table", table))

    def shard_file(self, table: str, shard: str) -> str:
        return posixpath.join(
            self.table_dir(table), f"shard={check_key('shard', shard)}", PART_NAME
        )

    def write(self, table: str, shard: str, data: pa.Table | pl.DataFrame) -> str:
        """Replace the rows of ``shard`` in ``table`` with ``data``; returns the file."""
        arrow = data.to_arrow() if isinstance(data, pl.DataFrame) else data
        if "shard" in arrow.column_names:
            values = set(arrow.column("shard").to_pylist())
            if values - {shard}:
                raise ValueError(
                    f"table {table!r}: rows carry shard {sorted(values - {shard})} "
                    f"but are written to shard {shard!r}"
                )
            arrow = arrow.drop(["shard"])
        arrow = conform(table, arrow)
        path = self.shard_file(table, shard)
        with self.root.open_atomic(path) as handle:
            pq.write_table(arrow, handle, compression="zstd")
        return path

    def delete(self, table: str, shard: str) -> None:
        path = self.shard_file(table, shard)
        if self.root.fs.exists(path):
            self.root.fs.rm(path)

    def tables(self) -> list[str]:
        """Tables with at least one shard file; a folder whose name is not a table name is
        not one (warned about once per listing)."""
        found = self.root.glob("tables", "*", "shard=*", PART_NAME)
        names = {posixpath.basename(posixpath.dirname(posixpath.dirname(p))) for p in found}
        return sorted(_valid("table", names))

    def shards(self, table: str, prefix: str = "") -> list[str]:
        """Shards of ``table`` with a file, those whose key starts with ``prefix`` (a listing
        of that prefix only, on an object store)."""
        pattern = f"shard={check_key('prefix', prefix) if prefix else ''}*"
        files = self.root.glob("tables", check_key("table", table), pattern, PART_NAME)
        names = {posixpath.basename(posixpath.dirname(p)).split("=", 1)[1] for p in files}
        return sorted(_valid(f"shard of table {table!r}", names))

    def has_shard(self, table: str, shard: str) -> bool:
        return self.root.fs.exists(self.shard_file(table, shard))

    def scan(
        self,
        table: str,
        shards: list[str],
        columns: list[str] | None = None,
        where: ds.Expression | None = None,
    ) -> pl.DataFrame:
        """Only ``columns`` (and ``shard``) of the rows of ``shards`` that match ``where``,
        read as a pyarrow dataset: other columns are never fetched and row groups the filter
        rules out are skipped. Every shard named must have a file."""
        paths = [self.shard_file(table, check_key("shard", s)) for s in shards]
        if not paths:
            return pl.DataFrame()
        fs = None if self.root.is_local else PyFileSystem(FSSpecHandler(self.root.fs))
        dataset = ds.dataset(
            paths,
            format="parquet",
            filesystem=fs,
            partitioning=ds.partitioning(pa.schema([("shard", pa.string())]), flavor="hive"),
            partition_base_dir=self.table_dir(table),
        )
        wanted = None if columns is None else [*dict.fromkeys([*columns, "shard"])]
        return pl.from_arrow(dataset.to_table(columns=wanted, filter=where))

    def read(self, table: str, shards: list[str] | None = None) -> pl.DataFrame:
        """All rows of ``table`` (or of some shards) with a ``shard`` column; empty if none."""
        wanted = self.shards(table) if shards is None else [check_key("shard", s) for s in shards]
        frames = []
        for shard in wanted:
            path = self.shard_file(table, shard)
            if not self.root.fs.exists(path):
                continue
            with self.root.fs.open(path, "rb") as handle:
                arrow = pq.read_table(handle)
            frames.append(pl.from_arrow(arrow).with_columns(pl.lit(shard).alias("shard")))
        if frames:
            return pl.concat(frames, how="diagonal_relaxed")
        schema = TABLE_SCHEMAS.get(table)
        empty = pl.from_arrow(schema.empty_table()) if schema is not None else pl.DataFrame()
        return empty.with_columns(pl.lit(None, dtype=pl.String).alias("shard"))


def _valid(kind: str, names: set[str]) -> set[str]:
    """The names that are valid keys; the others are skipped with a warning."""
    valid = set()
    for name in names:
        try:
            valid.add(check_key(kind, name))
        except ValueError as error:
            log.warning("skipping a folder that is not a %s: %s", kind, error)
    return valid
