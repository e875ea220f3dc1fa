"""The local storage root: a root whose path holds glob characters reads only itself, dead
writers' temporary files are removed, one holder of a lock at a time, and a folder is
replaced as a whole."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import polars as pl
import pytest

from acav_assets.core.catalog import Catalog, TableStore, default_catalog_path
from acav_assets.core.storage import STALE_TEMP_S, TEMP_SUFFIX, StorageRoot


def _clips(video: str) -> pl.DataFrame:
    return pl.DataFrame({"clip_id": [f"{video}:0"], "video_id": [video], "start_s": [0.0],
                         "end_s": [10.0]})  # fmt: skip


@pytest.mark.parametrize("name", ["runs[1]", "runs*", "run?", "a[!b]"])
def test_a_root_named_like_a_pattern_reads_only_itself(tmp_path: Path, name: str):
    root = StorageRoot(str(tmp_path / name))
    for sibling in ("runs1", "runsX", "run1", "ab", "a[!b]x"):
        if sibling != name:
            TableStore(StorageRoot(str(tmp_path / sibling))).write("clips", "s", _clips(sibling))
    TableStore(root).write("clips", "mine", _clips("mine"))
    tables = TableStore(root)
    assert tables.tables() == ["clips"] and tables.shards("clips") == ["mine"]
    assert tables.read("clips")["video_id"].to_list() == ["mine"]
    assert root.glob("tables", "*", "shard=*", "*") == [
        root.path("tables", "clips", "shard=mine", "part-0.parquet")
    ]
    catalog = Catalog(root, default_catalog_path(root, str(tmp_path / "cache")))
    catalog.refresh()
    assert catalog.query("SELECT video_id FROM clips")["video_id"].to_list() == ["mine"]


def test_a_killed_writers_old_temporary_file_is_removed_by_the_next_write(storage):
    tables = TableStore(storage)
    path = tables.write("clips", "s", _clips("a"))
    folder = os.path.dirname(path)
    old = os.path.join(folder, f".part-0.parquet.dead{TEMP_SUFFIX}")
    fresh = os.path.join(folder, f".part-0.parquet.busy{TEMP_SUFFIX}")
    for temp in (old, fresh):
        Path(temp).write_bytes(b"half a parquet file")
    then = time.time() - STALE_TEMP_S - 60
    os.utime(old, (then, then))
    tables.write("clips", "s", _clips("b"))
    assert not os.path.exists(old)  # a dead writer's
    assert os.path.exists(fresh)  # maybe another writer's, still at work
    assert tables.read("clips")["video_id"].to_list() == ["b"]


def _hold(root_url: str, name: str, log: str, seconds: float) -> None:
    with StorageRoot(root_url).lock(name):
        with open(log, "a") as handle:
            handle.write(f"in {os.getpid()}\n")
        time.sleep(seconds)
        with open(log, "a") as handle:
            handle.write(f"out {os.getpid()}\n")


def test_a_lock_has_one_holder_at_a_time_across_processes(storage, tmp_path: Path):
    log = str(tmp_path / "log.txt")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_hold, args=(storage.url, "ingest-s", log, 0.5))
               for _ in range(3)]  # fmt: skip
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    lines = Path(log).read_text().split()
    events = [lines[i] for i in range(0, len(lines), 2)]
    assert events == ["in", "out"] * 3  # never two "in" in a row


def test_replace_folder_leaves_nothing_of_the_old_folder(storage):
    target = storage.path("exports", "x")
    for name in ("a", "b", "c"):
        storage.write_bytes(f"{target}/{name}", b"old")
    staging = storage.staging_folder(target)
    storage.write_bytes(f"{staging}/a", b"new")
    storage.replace_folder(staging, target)
    assert sorted(os.listdir(target)) == ["a"]
    assert Path(target, "a").read_bytes() == b"new"
    assert os.listdir(os.path.dirname(target)) == ["x"]
