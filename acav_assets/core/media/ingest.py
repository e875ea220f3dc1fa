"""Ingest one shard: fetch, probe, filter, deduplicate, and find clip windows.

Reads the shard's rows of table ``sources``; writes its rows of ``videos`` (one per video,
with ``status`` ok / failed / filtered / duplicate and a reason) and ``clips`` (the windows
of the ok videos). One bad video never fails the shard. Re-running reuses finished
downloads and replaces the shard's rows, so nothing is fetched twice or counted twice; a
video whose earlier fetch failed for a permanent reason (``reasons.PERMANENT``) keeps its row
and is not asked for again. A site that keeps refusing (bot checks, rate limits) opens its
circuit breaker: the shard's remaining videos of that site are ``deferred`` to a later run.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime

import polars as pl

from acav_assets.core.catalog.tables import TableStore
from acav_assets.core.media.breaker import SiteBreaker
from acav_assets.core.media.clips import STRATEGIES, clip_id
from acav_assets.core.media.fetch import (
    DownloadSettings,
    Fetched,
    FetchError,
    download_video,
    locate_local,
)
from acav_assets.core.media.inspection import Inspected, clip_windows, inspect_video
from acav_assets.core.media.sites import SiteOptions, site_of
from acav_assets.core.media.sources import SOURCES_TABLE
from acav_assets.core.reasons import RETRY_SOON, Reason, is_permanent
from acav_assets.core.storage import StorageRoot, check_key

log = logging.getLogger(__name__)

VIDEOS_TABLE = "videos"
CLIPS_TABLE = "clips"


@dataclass(frozen=True)
class IngestOptions:
    """How a shard is ingested; the defaults are ACAV100M's."""

    allowed_roots: tuple[str, ...] = ()  # local paths are read only under these
    max_height: int = 360  # download format limit
    min_height: int | None = None  # filter: smaller videos are dropped
    min_duration_s: float = 30.0
    max_duration_s: float = 597.0
    require_audio: bool = True
    require_video: bool = True
    clip_strategy: str = "shots"  # shots | middle | uniform (manifest windows always win)
    clips_per_video: int = 3
    clip_seconds: float = 10.0
    shot_threshold: float = 10.0
    retries: int = 3
    backoff_s: float = 1.0
    socket_timeout: float = 30.0
    rate_limit: int | None = None  # bytes per second
    concurrent_downloads: int = 4
    cookies_file: str | None = None
    proxy: str | None = None
    verify_tail: bool = True  # decode the last second to catch truncated files
    dedup_across_shards: bool = True  # also drop content already ok in other shards
    scratch_dir: str | None = None  # local working folder when the storage root is remote
    sites: Mapping[str, SiteOptions] = field(default_factory=dict)  # see core/media/sites.py

    def validate(self) -> IngestOptions:
        """Raise ``ValueError`` naming the first bad option."""
        problems = []
        if self.clip_strategy not in STRATEGIES:
            problems.append(f"clip_strategy={self.clip_strategy!r} (choose {STRATEGIES})")
        for name in ("clips_per_video", "concurrent_downloads", "max_height"):
            if getattr(self, name) < 1:
                problems.append(f"{name}={getattr(self, name)!r} (must be >= 1)")
        for name in ("clip_seconds", "socket_timeout", "shot_threshold"):
            if not getattr(self, name) > 0:
                problems.append(f"{name}={getattr(self, name)!r} (must be > 0)")
        if self.retries < 0 or self.backoff_s < 0:
            problems.append(f"retries={self.retries!r}, backoff_s={self.backoff_s!r} (>= 0)")
        if not 0 <= self.min_duration_s <= self.max_duration_s:
            problems.append(
                f"min_duration_s={self.min_duration_s!r}, max_duration_s={self.max_duration_s!r}"
            )
        if isinstance(self.allowed_roots, str):
            problems.append(f"allowed_roots={self.allowed_roots!r} (a list of folders)")
        for site, settings in self.sites.items():
            if not isinstance(settings, SiteOptions):
                problems.append(f"sites[{site!r}] is not SiteOptions (use parse_sites)")
                continue
            try:
                settings.validate(site)
            except ValueError as error:
                problems.append(str(error))
        if problems:
            raise ValueError("invalid ingest options: " + "; ".join(problems))
        return self

    def download_settings(self) -> DownloadSettings:
        names = {f.name for f in fields(DownloadSettings)}
        return DownloadSettings(**{n: getattr(self, n) for n in names})


@dataclass
class ShardStats:
    """What happened to a shard's videos; ``as_metadata`` flattens it for the UI."""

    shard: str
    total: int = 0
    ok: int = 0
    failed: int = 0
    filtered: int = 0
    duplicate: int = 0
    deferred: int = 0  # not asked: their site's circuit breaker was open
    not_refetched: int = 0  # failed for a permanent reason in an earlier run
    retry_soon: int = 0  # deferred, rate-limited or bot-checked: for the retry schedule
    clips: int = 0
    downloaded: int = 0
    reused: int = 0
    seconds: float = 0.0
    breaker_open: str = ""  # the sites this shard stopped asking, comma-separated
    reasons: Counter = field(default_factory=Counter)

    def as_metadata(self) -> dict[str, int | float | str]:
        flat = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "reasons"}
        flat.update({key: count for key, count in sorted(self.reasons.items())})
        return flat


def _download(
    shard: str,
    video: dict,
    folder: str,
    windows: list[tuple[float, float]] | None,
    options: IngestOptions,
    breaker: SiteBreaker,
) -> Fetched:
    """Download one video through its site's circuit breaker, telling it what was answered."""
    site = site_of(video["url"])
    try:
        fetched = download_video(
            video["url"],
            folder,
            video["video_id"],
            windows=windows,
            settings=options.download_settings(),
            may_ask=lambda: breaker.allows(site),
        )
    except FetchError as error:
        if error.reason != Reason.DEFERRED and breaker.record(site, error.reason):
            log.warning(
                "shard %s: stopped asking %s after %d %s answers in a row; its other videos "
                "in this shard are deferred to a later run",
                shard, site, breaker.trip_after(site), error.reason,
            )  # fmt: skip
        raise
    if not fetched.reused:
        breaker.record(site, None)
    return fetched


def _fetch_and_inspect(
    root: StorageRoot,
    shard: str,
    video: dict,
    folder: str,
    options: IngestOptions,
    breaker: SiteBreaker,
) -> Inspected:
    if video["final"] is not None:
        return Inspected.failure(video, *video["final"])
    windows = [(s, e) for s, e in video["windows"] if s is not None] or None
    if video["path"] is None and not root.is_local:
        for remote in root.glob("media", shard, f"{video['video_id']}.*"):
            local = os.path.join(folder, os.path.basename(remote))
            if not os.path.exists(local):
                root.fs.get(remote, local)
    try:
        if video["path"] is not None:
            fetched_paths, sections, duration, reused = (
                [locate_local(video["path"], options.allowed_roots)],
                None,
                None,
                True,
            )
        else:
            fetched = _download(shard, video, folder, windows, options, breaker)
            fetched_paths, sections = fetched.paths, fetched.sections
            duration, reused = fetched.duration_s, fetched.reused
    except FetchError as error:
        return Inspected.failure(video, error.reason, error.detail)
    if duration is None and sections is not None:
        duration = video.get("previous_duration_s")
    return inspect_video(video, fetched_paths, sections, duration, reused, options)


def _videos_frame(results: list[Inspected], run_id: str, code_version: str) -> pl.DataFrame:
    now = datetime.now(UTC)
    rows = [
        r.row | {"ingested_at": now, "run_id": run_id, "code_version": code_version}
        for r in results
    ]
    return pl.DataFrame(rows, infer_schema_length=None)


def _known_hashes(tables: TableStore, shard: str) -> dict[str, str]:
    others = [s for s in tables.shards(VIDEOS_TABLE) if s != shard]
    if not others:
        return {}
    frame = tables.read(VIDEOS_TABLE, others).filter(pl.col("status") == "ok")
    frame = frame.filter(pl.col("sha256").is_not_null()).sort("shard", "video_id")
    return dict(zip(frame["sha256"], frame["video_id"], strict=True)) if frame.height else {}


def ingest_shard(
    root: StorageRoot,
    tables: TableStore,
    shard: str,
    options: IngestOptions,
    *,
    run_id: str,
    code_version: str,
    progress: Callable[[int, int], None] | None = None,
) -> ShardStats:
    """Ingest every video of ``shard`` and write its ``videos`` and ``clips`` rows."""
    check_key("shard", shard)
    options.validate()
    started = time.perf_counter()
    sources = tables.read(SOURCES_TABLE, [shard])
    if sources.height == 0:
        raise ValueError(f"shard {shard!r} has no rows in table {SOURCES_TABLE!r}")
    previous = tables.read(VIDEOS_TABLE, [shard])
    known_duration = dict(zip(previous["video_id"], previous["duration_s"], strict=True))
    final = {
        row["video_id"]: (Reason(row["reason"]), row["detail"] or "")
        for row in previous.iter_rows(named=True)
        if row["status"] == "failed" and row["url"] is not None and is_permanent(row["reason"])
    } if previous.height else {}  # fmt: skip
    videos = [
        {
            "video_id": key[0],
            "url": group["url"][0],
            "path": group["path"][0],
            "source": group["source"][0],
            "windows": list(zip(group["start_s"], group["end_s"], strict=True)),
            "previous_duration_s": known_duration.get(key[0]),
            "final": final.get(key[0]),
        }
        for key, group in sources.sort("line").group_by("video_id", maintain_order=True)
    ]
    stats = ShardStats(shard=shard, total=len(videos))
    stats.not_refetched = sum(video["final"] is not None for video in videos)
    settings = options.download_settings()
    breaker = SiteBreaker(lambda site: settings.site_options(site).trip_after)
    scratch = None
    if root.is_local:
        folder = root.path("media", shard)
    else:
        scratch = tempfile.TemporaryDirectory(prefix="acav-media-", dir=options.scratch_dir)
        folder = scratch.name
    done = 0

    def advance(steps: int = 1) -> None:
        nonlocal done
        done += steps
        if progress is not None:
            progress(done, 2 * len(videos))

    try:
        with ThreadPoolExecutor(max_workers=options.concurrent_downloads) as pool:
            results = []
            for result in pool.map(
                lambda v: _fetch_and_inspect(root, shard, v, folder, options, breaker), videos
            ):
                results.append(result)
                advance()
            known = _known_hashes(tables, shard) if options.dedup_across_shards else {}
            for result in results:
                digest = result.row.get("sha256")
                if result.row["status"] == "ok" and digest is not None:
                    if digest in known:
                        result.mark(Reason.DUPLICATE_CONTENT, f"same content as {known[digest]}")
                    else:
                        known[digest] = result.row["video_id"]
            kept = [r for r in results if r.row["status"] == "ok"]
            advance(len(results) - len(kept))
            windows = []
            for result, found in zip(
                kept, pool.map(lambda r: clip_windows(r, options), kept), strict=True
            ):
                windows.append((result, found))
                advance()
        if not root.is_local:
            for result in results:
                result.publish(root, shard)
    finally:
        if scratch is not None:
            scratch.cleanup()
    clip_rows = [
        {
            "clip_id": clip_id(result.row["video_id"], window.start_s),
            "video_id": result.row["video_id"],
            "start_s": window.start_s,
            "end_s": window.end_s,
            "strategy": window.strategy,
            "media_path": result.remote.get(media_path, media_path),
            "media_start_s": media_start,
            "run_id": run_id,
        }
        for result, found in windows
        for window, media_path, media_start in found
    ]
    tables.write(VIDEOS_TABLE, shard, _videos_frame(results, run_id, code_version))
    clips = pl.DataFrame(clip_rows, infer_schema_length=None) if clip_rows else None
    if clips is not None:
        clips = clips.unique("clip_id", keep="first", maintain_order=True)
        tables.write(CLIPS_TABLE, shard, clips)
    else:
        tables.delete(CLIPS_TABLE, shard)
    for result in results:
        status = result.row["status"]
        setattr(stats, status, getattr(stats, status) + 1)
        if result.row["reason"]:
            stats.reasons[f"{status}_{result.row['reason']}"] += 1
        stats.retry_soon += int(result.row["reason"] in RETRY_SOON)
        stats.downloaded += int(result.downloaded)
        stats.reused += int(result.reused)
    stats.clips = 0 if clips is None else clips.height
    stats.breaker_open = ",".join(sorted(breaker.open_))
    stats.seconds = round(time.perf_counter() - started, 3)
    log.info("shard %s: %s", shard, stats.as_metadata())
    return stats
