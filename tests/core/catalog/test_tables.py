"""The table writer: atomic, replace-on-rewrite, safe with concurrent shard writers."""

from __future__ import annotations

import multiprocessing
import signal
import subprocess
import sys
import textwrap

import polars as pl
import pytest

from acav_assets.core.catalog import Catalog, TableStore
from acav_assets.core.storage import StorageRoot


def _clips(n: int, offset: int = 0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "clip_id": [f"v{i}_0" for i in range(offset, offset + n)],
            "video_id": [f"v{i}" for i in range(offset, offset + n)],
            "start_s": [0.0] * n,
            "end_s": [10.0] * n,
            "strategy": ["middle"] * n,
        }
    )


def _write_shard(root_url: str, shard: str, offset: int) -> None:
    store = TableStore(StorageRoot(root_url))
    for _ in range(20):
        store.write("clips", shard, _clips(500, offset))


def test_rewriting_a_shard_replaces_its_rows(storage: StorageRoot) -> None:
    store = TableStore(storage)
    store.write("clips", "s1", _clips(3))
    store.write("clips", "s1", _clips(3))
    store.write("clips", "s2", _clips(2, offset=10))
    frame = store.read("clips")
    assert frame.height == 5
    assert sorted(frame["shard"].unique().to_list()) == ["s1", "s2"]
    assert store.shards("clips") == ["s1", "s2"]


def test_two_processes_writing_different_shards_both_land(storage: StorageRoot) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_write_shard, args=(storage.url, shard, offset))
        for shard, offset in (("a", 0), ("b", 1000))
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    frame = TableStore(storage).read("clips")
    assert frame.group_by("shard").len().sort("shard")["len"].to_list() == [500, 500]
    catalog = Catalog(storage, storage.path("catalog.duckdb"))
    catalog.refresh()
    counts = catalog.query("SELECT shard, count(*) AS n FROM clips GROUP BY shard ORDER BY shard")
    assert counts.rows() == [("a", 500), ("b", 500)]


def test_writer_killed_mid_write_leaves_no_visible_partial_file(storage: StorageRoot) -> None:
    store = TableStore(storage)
    store.write("clips", "s1", _clips(3))
    child = textwrap.dedent(
        f"""
        import sys, time
        import polars as pl
        import acav_assets.core.catalog.tables as tables
        from acav_assets.core.storage import StorageRoot

        original = tables.pq.write_table

        def write_then_hang(*args, **kwargs):
            original(*args, **kwargs)
            print("written", flush=True)
            time.sleep(120)

        tables.pq.write_table = write_then_hang
        frame = pl.DataFrame({{"clip_id": ["x"] * 1000, "video_id": ["y"] * 1000}})
        tables.TableStore(StorageRoot({storage.url!r})).write("clips", "s1", frame)
        """
    )
    process = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "written"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert store.read("clips").height == 3
    visible = storage.glob("tables", "clips", "shard=s1", "*.parquet")
    assert [p.rsplit("/", 1)[1] for p in visible] == ["part-0.parquet"]
    catalog = Catalog(storage, storage.path("catalog.duckdb"))
    catalog.refresh()
    assert catalog.query("SELECT count(*) AS n FROM clips")["n"].item() == 3


def test_write_rejects_unknown_columns_and_wrong_shard(storage: StorageRoot) -> None:
    store = TableStore(storage)
    with pytest.raises(ValueError, match="has no columns \\['clip_idd'\\]"):
        store.write("clips", "s1", pl.DataFrame({"clip_idd": ["a"]}))
    with pytest.raises(ValueError, match="carry shard"):
        store.write("clips", "s1", _clips(1).with_columns(pl.lit("s2").alias("shard")))
    with pytest.raises(ValueError, match="invalid shard"):
        store.write("clips", "../escape", _clips(1))
    assert store.shards("clips") == []


def test_reading_an_empty_declared_table_gives_its_columns(storage: StorageRoot) -> None:
    frame = TableStore(storage).read("videos")
    assert frame.height == 0
    assert {"video_id", "status", "reason", "shard"} <= set(frame.columns)
