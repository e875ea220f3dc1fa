"""``catalog.duckdb``: one view per table over its Parquet dataset, plus the SQL models.

Writers never share the DuckDB file: shards land as Parquet files (see ``TableStore``) and the
catalog only holds views over them. A file lock beside the database makes the refresh a
single writer across processes on one host, while readers share the lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import posixpath
import time
from collections.abc import Iterator
from typing import Any

import duckdb
import polars as pl

from acav_assets.core.catalog.schemas import TABLE_SCHEMAS
from acav_assets.core.catalog.tables import PART_NAME, TableStore
from acav_assets.core.storage import StorageRoot

_DUCKDB_TYPES = {
    "string": "VARCHAR",
    "large_string": "VARCHAR",
    "double": "DOUBLE",
    "float": "FLOAT",
    "int64": "BIGINT",
    "int32": "INTEGER",
    "bool": "BOOLEAN",
    "timestamp[us, tz=UTC]": "TIMESTAMPTZ",
}


def default_catalog_path(root: StorageRoot, cache_dir: str) -> str:
    """Where ``catalog.duckdb`` lives: in the root when it is local, else in a local cache
    (DuckDB cannot write its database to an object store)."""
    if root.is_local:
        return root.path("catalog.duckdb")
    digest = hashlib.sha256(root.url.encode()).hexdigest()[:16]
    return os.path.join(cache_dir, f"catalog-{digest}.duckdb")


class Catalog:
    """Views over the pipeline's Parquet tables in a DuckDB database file."""

    def __init__(self, root: StorageRoot, path: str, lock_timeout_s: float = 600.0) -> None:
        self.root = root
        self.path = path
        self.lock_timeout_s = lock_timeout_s
        self.tables = TableStore(root)

    @contextlib.contextmanager
    def _lock(self, exclusive: bool) -> Iterator[None]:
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        with open(self.path + ".lock", "a+") as handle:
            mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
            deadline = time.monotonic() + self.lock_timeout_s
            while True:
                try:
                    fcntl.flock(handle, mode | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(
                            f"catalog {self.path} stayed locked for {self.lock_timeout_s} s"
                        ) from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def connect(self, write: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection holding the catalog lock (exclusive when ``write``)."""
        with self._lock(exclusive=write):
            if not write and not os.path.exists(self.path):
                con = duckdb.connect()
            else:
                con = duckdb.connect(self.path, read_only=not write)
            try:
                if not self.root.is_local:
                    con.register_filesystem(self.root.fs)
                yield con
            finally:
                con.close()

    def _view_sql(self, table: str) -> str | None:
        if self.tables.shards(table):
            pattern = posixpath.join(self.root.uri("tables", table), "shard=*", PART_NAME)
            escaped = pattern.replace("'", "''")
            return (
                f"SELECT * FROM read_parquet('{escaped}', hive_partitioning = true, "
                "hive_types = {'shard': VARCHAR}, union_by_name = true)"
            )
        schema = TABLE_SCHEMAS.get(table)
        if schema is None:
            return None
        columns = [f"CAST(NULL AS {_DUCKDB_TYPES[str(f.type)]}) AS {f.name}" for f in schema]
        return f"SELECT {', '.join(columns)}, CAST(NULL AS VARCHAR) AS shard WHERE false"

    def refresh_views(self, con: duckdb.DuckDBPyConnection) -> list[str]:
        """(Re)create one view per table on an open write connection."""
        names = sorted(set(self.tables.tables()) | set(TABLE_SCHEMAS))
        created = []
        for table in names:
            sql = self._view_sql(table)
            if sql is not None:
                con.execute(f'CREATE OR REPLACE VIEW "{table}" AS {sql}')
                created.append(table)
        return created

    def refresh(self) -> list[str]:
        """Refresh every table view; returns the table names."""
        with self.connect(write=True) as con:
            return self.refresh_views(con)

    def query(self, sql: str, params: list[Any] | dict[str, Any] | None = None) -> pl.DataFrame:
        """Run a read-only query; values are bound, never formatted into the SQL."""
        with self.connect() as con:
            return pl.from_arrow(con.sql(sql, params=params).to_arrow_table())
