"""The DuckDB catalog: views over the Parquet tables, typed even before data lands."""

from __future__ import annotations

import polars as pl

from acav_assets.core.catalog import Catalog, TableStore
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
