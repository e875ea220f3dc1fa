"""Ingesting a shard against a real HTTP server: every bad case ends as a row with a reason."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from acav_assets.core.catalog.tables import TableStore
from acav_assets.core.media import IngestOptions, ingest_shard, register_manifest

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
        options = dataclasses.replace(fast_options, cookies_file=str(cookies))
        stats = ingest_shard(storage, tables, shard, options, run_id="r", code_version="t")
    finally:
        cookies.parent.chmod(0o755)
    assert (stats.downloaded, stats.ok) == (1, 1)
    assert cookies.read_bytes() == before
    assert sorted(p.name for p in cookies.parent.iterdir()) == ["cookies.txt"]


def test_server_error_is_retried_with_backoff(storage, tmp_path, http_base, fast_options):
    tables = TableStore(storage)
    shard = _register(tmp_path, tables, [f"{http_base}/flaky/good.mp4"])
    options = dataclasses.replace(fast_options, retries=1)
    stats = ingest_shard(storage, tables, shard, options, run_id="r", code_version="t")
    assert stats.ok == 1
    no_retry = dataclasses.replace(fast_options, retries=0)
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
