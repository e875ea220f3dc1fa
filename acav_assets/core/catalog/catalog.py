"""``catalog.duckdb``: one view per table over its Parquet dataset, plus the SQL models.

Writers never share the DuckDB file: shards land as Parquet files (see ``TableStore``) and the
catalog only holds views over them. A file lock beside the database makes the refresh a
single writer across processes on one host, while readers share the lock. A folder under
``tables/`` that is not a table (a bad name, a broken file) is skipped with a warning, never
the end of the refresh.

``query`` is what a user's SQL runs through (``acav catalog query``): exactly one read-only
statement, on a connection that reads no file outside ``tables/``, loads no extension and
cannot change its own settings, so ``COPY ... TO``, ``ATTACH``, ``INSTALL``/``LOAD``,
``read_csv('/etc/passwd')`` and a second statement are refused with a clear message.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import logging
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

log = logging.getLogger(__name__)
# Settings of a user's query connection; the last one freezes them.
_LOCKDOWN = (
    "SET autoinstall_known_extensions = false",
    "SET autoload_known_extensions = false",
    "SET enable_external_access = false",
    "SET lock_configuration = true",
)


# What reading one table's files can raise (a broken or foreign file, shards whose columns
# cannot be unified); a failure to write the catalog itself is not among them.
_UNREADABLE = (
    duckdb.InvalidInputException,
    duckdb.IOException,
    duckdb.BinderException,
    duckdb.ConversionException,
    ValueError,
)


class QueryRefused(ValueError):
    """SQL that ``Catalog.query`` does not run, and why."""


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
    (DuckDB cannot write its database to an object store, nor open one whose path holds a
    ``?``: it reads the rest as options)."""
    if root.is_local and "?" not in root.base:
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
            folder = glob.escape(self.root.uri("tables", table))  # the root is not a pattern
            pattern = posixpath.join(folder, "shard=*", PART_NAME)
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
        """(Re)create one view per table on an open write connection; a table whose files
        DuckDB cannot read keeps no view and is named in a warning."""
        names = sorted(set(self.tables.tables()) | set(TABLE_SCHEMAS))
        created = []
        for table in names:
            try:
                sql = self._view_sql(table)
                if sql is not None:
                    con.execute(f'CREATE OR REPLACE VIEW "{table}" AS {sql}')
                    created.append(table)
            except _UNREADABLE as error:
                log.warning("catalog: no view for table %r: %s", table, error)
        return created

    def refresh(self) -> list[str]:
        """Refresh every table view; returns the table names."""
        with self.connect(write=True) as con:
            return self.refresh_views(con)

    def query(self, sql: str, params: list[Any] | dict[str, Any] | None = None) -> pl.DataFrame:
        """Run one read-only ``SELECT`` over the catalog's views; values are bound, never
        formatted into the SQL. Raise ``QueryRefused`` for anything else."""
        with self.connect() as con:
            try:
                statements = con.extract_statements(sql)
            except duckdb.Error as error:
                raise QueryRefused(f"not valid SQL: {error}") from error
            if len(statements) != 1:
                raise QueryRefused(f"give exactly one statement, got {len(statements)}")
            kind = statements[0].type
            if kind != duckdb.StatementType.SELECT:
                raise QueryRefused(f"only a SELECT query runs here, not {kind.name}")
            tables = self.root.uri("tables").rstrip("/") + "/"
            # the views' patterns name the folder escaped, the files they find do not
            con.execute("SET allowed_directories = $1", [sorted({tables, glob.escape(tables)})])
            for setting in _LOCKDOWN:
                con.execute(setting)
            return pl.from_arrow(con.sql(sql, params=params).to_arrow_table())
