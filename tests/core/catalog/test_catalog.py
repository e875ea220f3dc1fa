"""The DuckDB catalog: views over the Parquet tables, typed even before data lands; a user's
query is one read-only SELECT; a folder that is not a table never breaks the refresh."""

from __future__ import annotations

import os

import duckdb
import polars as pl
import pytest

from acav_assets.core.catalog import Catalog, QueryRefused, TableStore
from acav_assets.core.storage import StorageRoot


def test_views_expose_shard_from_the_path_and_bind_parameters(storage: StorageRoot) -> None:
    store = TableStore(storage)
    frame = pl.DataFrame({"clip_id": ["c1", "c2"], "video_id": ["v1", "v2"]})
    store.write("clips", "0001", frame)
    catalog = Catalog(storage, storage.path("catalog.duckdb"))
    assert "clips" in catalog.refresh()
    result = catalog.query("SELECT clip_id, shard FROM clips WHERE clip_id = ?", ["c2"])
    assert result.rows() == [("c2", "0001")]


def test_declared_tables_have_empty_typed_views_before_any_shard(storage: StorageRoot) -> None:
    catalog = Catalog(storage, storage.path("catalog.duckdb"))
    catalog.refresh()
    result = catalog.query("SELECT * FROM videos")
    assert result.height == 0
    assert result.schema["duration_s"] == pl.Float64
    assert result.schema["shard"] == pl.String


def test_undeclared_tables_get_a_view_once_written(storage: StorageRoot) -> None:
    TableStore(storage).write("cluster_assignments", "s1", pl.DataFrame({"audio_0": [1, 2]}))
    catalog = Catalog(storage, storage.path("catalog.duckdb"))
    catalog.refresh()
    assert catalog.query("SELECT sum(audio_0) AS s FROM cluster_assignments")["s"].item() == 3


@pytest.mark.parametrize(
    ("sql", "refused"),
    [
        ("COPY clips TO '/tmp/acav-leak.csv'", "only a SELECT"),
        ("EXPORT DATABASE '/tmp/acav-leak'", "only a SELECT"),
        ("ATTACH '/tmp/acav-other.duckdb'", "only a SELECT"),
        ("INSTALL httpfs", "only a SELECT"),
        ("LOAD httpfs", "only a SELECT"),
        ("SELECT 1; SELECT 2", "exactly one statement"),
        ("SELECT * FROM read_csv('/etc/passwd')", "disabled by configuration"),
        ("SELECT * FROM read_text('/etc/hostname')", "disabled by configuration"),
        ("SELECT * FROM glob('/etc/*')", "disabled by configuration"),
        ("SELECT * FROM read_parquet('https://example.com/x.parquet')", "disabled"),
        ("SELECT * FROM read_csv('TABLES/../../../etc/passwd')", "disabled by configuration"),
        ("SET enable_external_access = true", "only a SELECT"),
        ("SELECT * FROM", "not valid SQL"),
    ],
)
def test_query_runs_one_read_only_select_over_the_views(storage: StorageRoot, sql, refused):
    tables = TableStore(storage)
    tables.write("clips", "0001", pl.DataFrame({"clip_id": ["c1"], "video_id": ["v"],
                                                "start_s": [0.0], "end_s": [1.0]}))  # fmt: skip
    catalog = Catalog(storage, storage.path("catalog.duckdb"))
    catalog.refresh()
    sql = sql.replace("TABLES", storage.path("tables"))
    with pytest.raises((QueryRefused, duckdb.Error), match=refused):
        catalog.query(sql)
    assert not os.path.exists("/tmp/acav-leak.csv")
    assert catalog.query("SELECT count(*) AS n FROM clips")["n"].item() == 1


def test_refresh_skips_a_folder_that_is_not_a_table_and_a_broken_table(storage: StorageRoot):
    tables = TableStore(storage)
    tables.write("clips", "0001", pl.DataFrame({"clip_id": ["c1"], "video_id": ["v"],
                                                "start_s": [0.0], "end_s": [1.0]}))  # fmt: skip
    for folder in ("Not A Table!", "broken"):
        shard = os.path.join(storage.path("tables"), folder, "shard=x")
        os.makedirs(shard)
        with open(os.path.join(shard, "part-0.parquet"), "wb") as handle:
            handle.write(b"not parquet at all")
    os.makedirs(os.path.join(storage.path("tables"), "empty_folder"))
    catalog = Catalog(storage, storage.path("catalog.duckdb"))
    created = catalog.refresh()
    assert "clips" in created and "broken" not in created and "Not A Table!" not in created
    assert catalog.query("SELECT clip_id FROM clips")["clip_id"].to_list() == ["c1"]
