"""The content index: each content kept once across shards, also when shards run at once,
at O(a shard's own videos) requests, on a local disk and on an S3-compatible server."""

from __future__ import annotations

import hashlib
import multiprocessing
import threading
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acav_assets.core.catalog.tables import TableStore
from acav_assets.core.media import IngestOptions, ingest_shard, register_manifest
from acav_assets.core.media.dedup import ContentIndex, Owner, claim_content
from acav_assets.core.media.records import SourceVideo, VideoRecord
from acav_assets.core.storage import StorageRoot


def _sha(n: int) -> str:
    return hashlib.sha256(str(n).encode()).hexdigest()


def _records(shard: str, contents: list[int | None]) -> list[VideoRecord]:
    """One ok record per entry (its content number), or a failed one for None."""
    records = []
    for i, content in enumerate(contents):
        video = SourceVideo(video_id=f"{shard}-v{i}", source="m", url=None, path=f"/v{i}")
        record = VideoRecord(video)
        if content is None:
            record.status = "failed"
        else:
            record.sha256 = _sha(content)
        records.append(record)
    return records


def _kept(records: list[VideoRecord]) -> set[str]:
    return {r.video.video_id for r in records if r.ok}


def test_racing_claims_of_one_content_leave_exactly_one_owner(storage: StorageRoot) -> None:
    index = ContentIndex(storage)
    barrier = threading.Barrier(8)
    results: list[Owner] = []

    def claim(i: int) -> None:
        barrier.wait()
        results.append(index.claim(_sha(1), Owner(f"s{i}", f"v{i}")))

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1
    assert index.holder(_sha(1)) == results[0]
    assert not list(Path(storage.path("dedup")).rglob("*.tmp"))


def test_a_claim_is_refused_for_a_name_that_is_not_a_sha256(storage: StorageRoot) -> None:
    with pytest.raises(ValueError, match="sha256"):
        ContentIndex(storage).claim("../../etc/passwd", Owner("s", "v"))


@settings(max_examples=40, deadline=None)
@given(
    shards=st.lists(
        st.lists(st.one_of(st.none(), st.integers(0, 6)), max_size=8), min_size=1, max_size=4
    )
)
def test_shards_in_turn_keep_what_a_single_pass_over_them_keeps(shards, tmp_path_factory):
    """Reference: one pass over every shard's videos in order keeps the first of each
    content; the index, shard by shard, keeps the same videos."""
    storage = StorageRoot(str(tmp_path_factory.mktemp("index")))
    index = ContentIndex(storage)
    seen: set[int] = set()
    expected: set[str] = set()
    kept: set[str] = set()
    for s, contents in enumerate(shards):
        for i, content in enumerate(contents):
            if content is not None and content not in seen:
                seen.add(content)
                expected.add(f"s{s}-v{i}")
        records = _records(f"s{s}", contents)
        claim_content(index, f"s{s}", records, pl.DataFrame())
        kept |= _kept(records)
    assert kept == expected


def test_a_rerun_keeps_its_own_claims_and_releases_what_it_no_longer_keeps(storage) -> None:
    index = ContentIndex(storage)
    first = _records("a", [1, 2])
    claim_content(index, "a", first, pl.DataFrame())
    previous = pl.DataFrame(
        {
            "video_id": [r.video.video_id for r in first],
            "status": ["ok", "ok"],
            "sha256": [r.sha256 for r in first],
        }
    )
    again = _records("a", [1, 2])
    counters = claim_content(index, "a", again, previous)
    assert _kept(again) == {"a-v0", "a-v1"} and counters["released"] == 0
    failed_now = _records("a", [1, None])
    assert claim_content(index, "a", failed_now, previous)["released"] == 1
    other = _records("b", [2, 1])
    claim_content(index, "b", other, pl.DataFrame())
    assert _kept(other) == {"b-v0"}
    assert "a-v0" in other[1].detail and "shard a" in other[1].detail


@pytest.mark.slow_io
def test_conditional_puts_on_an_s3_server_let_one_claim_win(s3_root: StorageRoot) -> None:
    index = ContentIndex(s3_root)
    owners = index.claim_all([(_sha(1), Owner("a", "v0")), (_sha(2), Owner("a", "v1"))])
    assert owners == [Owner("a", "v0"), Owner("a", "v1")]
    assert index.claim(_sha(1), Owner("b", "v9")) == Owner("a", "v0")
    assert index.release(_sha(2), Owner("a", "v1")) and index.holder(_sha(2)) is None


def _ingest(root: str, shard: str, media_dir: str, start: multiprocessing.Event) -> None:
    storage = StorageRoot(root)
    options = IngestOptions(allowed_roots=(media_dir,), min_duration_s=2.0, clip_seconds=1.0)
    start.wait()
    ingest_shard(storage, TableStore(storage), shard, options, run_id=shard, code_version="t")


@pytest.mark.slow_io
def test_two_shards_ingested_at_once_keep_one_copy(tmp_path: Path, media_dir: Path) -> None:
    """Shards of two manifests, each holding the same content under another name, run in
    two processes released at once: the content is kept once, the other is a duplicate."""
    storage = StorageRoot(str(tmp_path / "root"))
    tables = TableStore(storage)
    shards = []
    for name, video in (("a", "good.mp4"), ("b", "copy_of_good.mp4")):
        manifest = tmp_path / f"{name}.csv"
        manifest.write_text(f"path\n{media_dir / video}\n{media_dir / 'good.webm'}\n")
        shards += register_manifest(manifest, tables)
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    runs = [
        context.Process(target=_ingest, args=(storage.url, s, str(media_dir), start))
        for s in shards
    ]
    for run in runs:
        run.start()
    start.set()
    for run in runs:
        run.join(timeout=300)
        assert run.exitcode == 0
    videos = tables.read("videos")
    assert videos.height == 4
    kept = videos.filter(pl.col("status") == "ok")
    assert kept.height == 2 and kept["sha256"].n_unique() == 2
    duplicates = videos.filter(pl.col("status") == "duplicate")
    assert duplicates.height == 2 and set(duplicates["reason"]) == {"duplicate_content"}
    assert tables.read("clips")["video_id"].is_in(kept["video_id"].implode()).all()
