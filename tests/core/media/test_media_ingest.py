"""Ingesting a shard against a real HTTP server: every bad case ends as a row with a reason."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from acav_assets.core.catalog.tables import TableStore
from acav_assets.core.media import IngestOptions, ingest_shard, parse_sites, register_manifest
from acav_assets.core.storage import StorageRoot

pytestmark = pytest.mark.slow_io


def _register(tmp_path: Path, tables: TableStore, lines: list[str]) -> str:
    manifest = tmp_path / "manifest.txt"
    manifest.write_text("\n".join(lines) + "\n")
    (key,) = register_manifest(manifest, tables)
    return key


def _by_url(tables: TableStore, shard: str) -> dict[str, dict]:
    rows = tables.read("videos", [shard]).to_dicts()
    return {(row["url"] or row["path"]).rsplit("/", 1)[-1]: row for row in rows}


def test_ingest_records_each_bad_case_with_reason(storage, tmp_path, http_base, fast_options):
    tables = TableStore(storage)
    names = {
        "good.mp4": ("ok", None),
        "good.webm": ("ok", None),
        "missing.mp4": ("failed", "http_404"),
        "zero.mp4": ("failed", "empty_file"),
        "truncated.mp4": ("failed", "truncated"),
        "audio_only.mp4": ("filtered", "no_video_stream"),
        "video_only.mp4": ("filtered", "no_audio_stream"),
        "short.mp4": ("filtered", "too_short"),
    }
    lines = [f"{http_base}/{name}" for name in names]
    lines += [f"{http_base}/status/500/err.mp4", f"{http_base}/slow/slow.mp4"]
    names |= {"err.mp4": ("failed", "http_error"), "slow.mp4": ("failed", "timeout")}
    shard = _register(tmp_path, tables, lines)

    stats = ingest_shard(storage, tables, shard, fast_options, run_id="r1", code_version="t")

    rows = _by_url(tables, shard)
    assert {name: (row["status"], row["reason"]) for name, row in rows.items()} == names
    assert all(rows[name]["detail"] for name, (status, _) in names.items() if status != "ok")
    assert (stats.total, stats.ok, stats.failed, stats.filtered) == (10, 2, 5, 3)
    assert stats.reasons["failed_http_404"] == 1 and stats.reasons["failed_timeout"] == 1
    good = rows["good.mp4"]
    assert good["has_audio"] and good["has_video"] and good["width"] == 160
    assert good["duration_s"] == pytest.approx(4.0, abs=0.1) and good["audio_rate"] == 16000
    assert good["path"].startswith(storage.path("media", shard))
    clips = tables.read("clips", [shard])
    ok_ids = {rows[n]["video_id"] for n in ("good.mp4", "good.webm")}
    assert set(clips["video_id"]) == ok_ids
    assert ((clips["end_s"] - clips["start_s"]) == 1.0).all()
    assert all(os.path.isfile(p) for p in clips["media_path"])


def test_rerun_does_not_download_again_or_duplicate_rows(
    storage, tmp_path, http_base, fast_options
):
    tables = TableStore(storage)
    shard = _register(tmp_path, tables, [f"{http_base}/good.mp4", f"{http_base}/good.webm"])
    first = ingest_shard(storage, tables, shard, fast_options, run_id="r1", code_version="t")
    files = {p: os.stat(p).st_mtime_ns for p in tables.read("videos")["path"]}
    clips_before = tables.read("clips").drop("run_id").sort("clip_id")

    second = ingest_shard(storage, tables, shard, fast_options, run_id="r2", code_version="t")

    assert (first.downloaded, first.reused) == (2, 0)
    assert (second.downloaded, second.reused, second.ok) == (0, 2, 2)
    assert {p: os.stat(p).st_mtime_ns for p in tables.read("videos")["path"]} == files
    assert tables.read("videos")["run_id"].to_list() == ["r2", "r2"]
    assert tables.read("clips").drop("run_id").sort("clip_id").equals(clips_before)


def test_identical_content_is_kept_once(storage, tmp_path, http_base, fast_options):
    tables = TableStore(storage)
    shard = _register(tmp_path, tables, [f"{http_base}/good.mp4", f"{http_base}/copy_of_good.mp4"])
    stats = ingest_shard(storage, tables, shard, fast_options, run_id="r", code_version="t")
    rows = _by_url(tables, shard)
    assert rows["good.mp4"]["status"] == "ok"
    assert rows["copy_of_good.mp4"]["status"] == "duplicate"
    assert rows["copy_of_good.mp4"]["reason"] == "duplicate_content"
    assert rows["good.mp4"]["video_id"] in rows["copy_of_good.mp4"]["detail"]
    assert (stats.ok, stats.duplicate) == (1, 1)
    assert set(tables.read("clips")["video_id"]) == {rows["good.mp4"]["video_id"]}


def test_known_windows_download_only_those_sections(storage, tmp_path, http_base, fast_options):
    tables = TableStore(storage)
    manifest = tmp_path / "windows.csv"
    url = f"{http_base}/good.mp4"
    manifest.write_text(f"url,start,end\n{url},0.5,1.5\n{url},2,3\n")
    (shard,) = register_manifest(manifest, tables)
    stats = ingest_shard(storage, tables, shard, fast_options, run_id="r", code_version="t")
    assert stats.ok == 1
    clips = tables.read("clips").sort("start_s")
    assert clips["start_s"].to_list() == [0.5, 2.0] and clips["end_s"].to_list() == [1.5, 3.0]
    assert clips["strategy"].to_list() == ["manifest", "manifest"]
    assert clips["media_start_s"].to_list() == [0.0, 0.0]
    from acav_assets.core.media import probe_video

    lengths = [probe_video(p).duration_s for p in clips["media_path"]]
    assert lengths == [pytest.approx(1.0, abs=0.15)] * 2


def test_read_only_cookies_file_is_used_and_left_as_it_was(
    storage, tmp_path, http_base, fast_options
):
    """yt-dlp saves its cookie jar on close; a mounted Secret is read-only."""
    cookies = tmp_path / "secret" / "cookies.txt"
    cookies.parent.mkdir()
    cookies.write_text("# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tk\tv\n")
    before = cookies.read_bytes()
    cookies.chmod(0o444)
    cookies.parent.chmod(0o555)
    try:
        tables = TableStore(storage)
        shard = _register(tmp_path, tables, [f"{http_base}/good.mp4"])
        download = dataclasses.replace(fast_options.download, cookies_file=str(cookies))
        options = dataclasses.replace(fast_options, download=download)
        stats = ingest_shard(storage, tables, shard, options, run_id="r", code_version="t")
    finally:
        cookies.parent.chmod(0o755)
    assert (stats.downloaded, stats.ok) == (1, 1)
    assert cookies.read_bytes() == before
    assert sorted(p.name for p in cookies.parent.iterdir()) == ["cookies.txt"]


def test_server_error_is_retried_with_backoff(storage, tmp_path, http_base, fast_options):
    tables = TableStore(storage)
    shard = _register(tmp_path, tables, [f"{http_base}/flaky/good.mp4"])
    options = dataclasses.replace(
        fast_options, download=dataclasses.replace(fast_options.download, retries=1)
    )
    stats = ingest_shard(storage, tables, shard, options, run_id="r", code_version="t")
    assert stats.ok == 1
    no_retry = dataclasses.replace(
        fast_options, download=dataclasses.replace(fast_options.download, retries=0)
    )
    shard = _register(tmp_path, tables, [f"{http_base}/flaky/good.webm"])
    assert ingest_shard(storage, tables, shard, no_retry, run_id="r", code_version="t").failed == 1


def test_slow_server_fails_within_the_socket_timeout(
    storage, tmp_path, http_base, fast_options, slow_server_s
):
    tables = TableStore(storage)
    shard = _register(tmp_path, tables, [f"{http_base}/slow/good.mp4"])
    stats = ingest_shard(storage, tables, shard, fast_options, run_id="r", code_version="t")
    assert stats.reasons == {"failed_timeout": 1}
    assert stats.seconds < slow_server_s


def test_local_paths_outside_allowed_roots_are_refused(storage, tmp_path, media_dir, fast_options):
    tables = TableStore(storage)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "good.mp4").write_bytes((media_dir / "good.mp4").read_bytes())
    link = media_dir / "link_out.mp4"
    if not link.exists():
        link.symlink_to(outside / "good.mp4")
    lines = [
        str(media_dir / "good.mp4"),
        str(media_dir / os.path.relpath(outside / "good.mp4", media_dir)),  # escapes by '..'
        str(outside / "good.mp4"),
        str(link),
        str(media_dir / "absent.mp4"),
    ]
    shard = _register(tmp_path, tables, lines)
    ingest_shard(storage, tables, shard, fast_options, run_id="r", code_version="t")
    rows = tables.read("videos").sort("video_id")
    reasons = dict(zip(rows["path"], rows["reason"], strict=True))
    real_good = os.path.realpath(media_dir / "good.mp4")
    assert reasons[real_good] is None
    refused = [os.path.abspath(line) for line in lines[1:4]]
    assert [reasons[p] for p in refused] == ["path_outside_root"] * 3
    assert reasons[str(media_dir / "absent.mp4")] == "file_not_found"
    assert not list(Path(storage.path()).glob("media/*/*"))  # local files are read in place


def test_min_height_filters_small_videos(storage, tmp_path, media_dir, fast_options):
    tables = TableStore(storage)
    shard = _register(tmp_path, tables, [str(media_dir / "small.mp4"), str(media_dir / "good.mp4")])
    options = dataclasses.replace(fast_options, min_height=100)
    ingest_shard(storage, tables, shard, options, run_id="r", code_version="t")
    rows = tables.read("videos").sort("height")
    assert rows.select("height", "status", "reason").rows() == [
        (48, "filtered", "too_small"),
        (120, "ok", None),
    ]


def test_progress_counts_up_to_its_total(storage, tmp_path, media_dir, fast_options):
    tables = TableStore(storage)
    shard = _register(tmp_path, tables, [str(media_dir / n) for n in ("good.mp4", "zero.mp4")])
    seen: list[tuple[int, int]] = []
    ingest_shard(
        storage,
        tables,
        shard,
        fast_options,
        run_id="r",
        code_version="t",
        progress=lambda done, total: seen.append((done, total)),
    )
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert seen[-1][0] == seen[-1][1]


def test_ingest_rejects_unknown_strategy_and_missing_shard(storage, fast_options):
    tables = TableStore(storage)
    with pytest.raises(ValueError, match="clip_strategy='best'"):
        IngestOptions(clip_strategy="best").validate()
    with pytest.raises(ValueError, match="no rows"):
        ingest_shard(storage, tables, "nothing-here", fast_options, run_id="r", code_version="t")


# --- a site that pushes back, and failures that are final ---

BREAKER_VIDEOS = [
    "good.mp4", "good.webm", "audio_only.mp4", "video_only.mp4",
    "short.mp4", "small.mp4", "copy_of_good.mp4", "truncated.mp4",
]  # fmt: skip


def _outcomes(tables: TableStore, shard: str) -> dict[str, tuple[str, str | None]]:
    return {name: (row["status"], row["reason"]) for name, row in _by_url(tables, shard).items()}


def test_a_site_that_starts_refusing_is_deferred_and_the_next_run_picks_it_up(
    storage, tmp_path, fast_options, rate_limited_server, tmp_path_factory
):
    base, limit = rate_limited_server
    lines = [f"{base}/{name}" for name in BREAKER_VIDEOS]
    sites = parse_sites({"127.0.0.1": {"trip_after": 2}})
    options = dataclasses.replace(
        fast_options,
        concurrent_downloads=1,
        download=dataclasses.replace(fast_options.download, sites=sites),
    )
    # what the shard holds when the site never refuses: the reference
    reference_root = StorageRoot(str(tmp_path_factory.mktemp("reference")))
    reference_tables = TableStore(reference_root)
    shard = _register(tmp_path, reference_tables, lines)
    ingest_shard(reference_root, reference_tables, shard, options, run_id="r0", code_version="t")
    expected = _outcomes(reference_tables, shard)
    limit.requests, limit.budget = 0, 4  # two videos (a page and a file each), then 429s

    tables = TableStore(storage)
    assert _register(tmp_path, tables, lines) == shard
    first = ingest_shard(storage, tables, shard, options, run_id="r1", code_version="t")

    outcomes = _outcomes(tables, shard)
    assert [outcomes[n] for n in BREAKER_VIDEOS[:2]] == [expected[n] for n in BREAKER_VIDEOS[:2]]
    assert [outcomes[n] for n in BREAKER_VIDEOS[2:4]] == [("failed", "rate_limited")] * 2
    assert [outcomes[n] for n in BREAKER_VIDEOS[4:]] == [("deferred", "deferred")] * 4
    assert (limit.requests, limit.refused) == (6, 2)  # not one request after it opened
    assert (first.deferred, first.breaker_open, first.failed) == (4, "127.0.0.1", 2)
    assert first.reasons["failed_rate_limited"] == 2 and first.reasons["deferred_deferred"] == 4
    assert tables.read("videos").height == len(BREAKER_VIDEOS)  # nothing lost

    limit.budget = None  # the block is over
    second = ingest_shard(storage, tables, shard, options, run_id="r2", code_version="t")

    assert _outcomes(tables, shard) == expected
    assert (second.deferred, second.breaker_open, second.reused) == (0, "", 2)
    assert tables.read("videos").height == len(BREAKER_VIDEOS)  # and nothing doubled
    assert limit.requests == 6 + 2 * 6  # only the six that were not fetched are asked again


def test_a_permanent_failure_is_not_fetched_again(
    storage, tmp_path, fast_options, rate_limited_server
):
    base, limit = rate_limited_server
    tables = TableStore(storage)
    shard = _register(tmp_path, tables, [f"{base}/missing.mp4", f"{base}/good.mp4"])
    first = ingest_shard(storage, tables, shard, fast_options, run_id="r1", code_version="t")
    asked = limit.requests

    second = ingest_shard(storage, tables, shard, fast_options, run_id="r2", code_version="t")

    assert limit.requests == asked  # the 404 is final and the good file is reused
    assert first.reasons == second.reasons == {"failed_http_404": 1}
    assert (second.not_refetched, second.reused, second.ok) == (1, 1, 1)
    missing = _by_url(tables, shard)["missing.mp4"]
    assert (missing["status"], missing["reason"], missing["run_id"]) == ("failed", "http_404", "r2")
    assert "HTTP Error 404" in missing["detail"]
