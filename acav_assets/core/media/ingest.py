"""Ingest one shard: fetch, inspect, deduplicate, choose clip windows, write the tables.

Reads the shard's rows of table ``sources``; writes its rows of ``videos`` (one per video,
with ``status`` ok / failed / filtered / duplicate and a reason) and ``clips`` (the windows
of the ok videos). One bad video never fails the shard. Re-running reuses finished
downloads and replaces the shard's rows, so nothing is fetched twice or counted twice; a
video whose earlier fetch failed for a permanent reason (``reasons.PERMANENT``) keeps its row
and is not asked for again. A site that keeps refusing (bot checks, rate limits) opens its
circuit breaker: the shard's remaining videos of that site are ``deferred`` to a later run.
An exception nobody expected while fetching, inspecting or choosing the windows of one video
becomes that video's ``internal_error`` row (its traceback in the log), and the rest of the
shard goes on. Two runs of one shard never overlap: the second waits for the shard's lock.

The phases, in order: ``read_shard_videos``, ``fetch_video`` + ``inspect_video`` (in a pool),
``claim_content`` (the content index, ``dedup.py``), ``choose_windows`` (in the pool),
``publish_media`` (remote roots), ``write_shard_tables``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime

import polars as pl

from acav_assets.core.catalog.tables import TableStore
from acav_assets.core.media.breaker import SiteBreaker
from acav_assets.core.media.dedup import ContentIndex, claim_content
from acav_assets.core.media.fetch import Fetched, FetchError, download_video, locate_local
from acav_assets.core.media.inspection import inspect_video
from acav_assets.core.media.options import IngestOptions
from acav_assets.core.media.records import ClipRecord, SourceVideo, VideoRecord
from acav_assets.core.media.sites import site_of
from acav_assets.core.media.slots import SiteSlots
from acav_assets.core.media.sources import SOURCES_TABLE
from acav_assets.core.media.windows import choose_windows
from acav_assets.core.reasons import RETRY_SOON, Reason, is_permanent
from acav_assets.core.redaction import redact
from acav_assets.core.storage import StorageRoot, check_key

log = logging.getLogger(__name__)

VIDEOS_TABLE = "videos"
CLIPS_TABLE = "clips"


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

    def count(self, records: Sequence[VideoRecord], clips: int, breaker: SiteBreaker) -> ShardStats:
        for record in records:
            setattr(self, record.status, getattr(self, record.status) + 1)
            if record.reason:
                self.reasons[f"{record.status}_{record.reason}"] += 1
            self.retry_soon += int(record.reason in RETRY_SOON)
            self.downloaded += int(record.downloaded)
            self.reused += int(record.reused)
        self.not_refetched = sum(r.video.final is not None for r in records)
        self.clips = clips
        self.breaker_open = ",".join(sorted(breaker.open_))
        return self

    def as_metadata(self) -> dict[str, int | float | str]:
        flat = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "reasons"}
        flat.update({key: count for key, count in sorted(self.reasons.items())})
        return flat


def read_shard_videos(tables: TableStore, shard: str) -> list[SourceVideo]:
    """The shard's videos in manifest order, each with its known windows and the duration an
    earlier run measured (downloaded sections do not tell the whole video's length)."""
    sources = tables.read(SOURCES_TABLE, [shard])
    if sources.height == 0:
        raise ValueError(f"shard {shard!r} has no rows in table {SOURCES_TABLE!r}")
    previous = tables.read(VIDEOS_TABLE, [shard])
    known_duration = dict(zip(previous["video_id"], previous["duration_s"], strict=True))
    final = {
        row["video_id"]: (Reason(row["reason"]), row["detail"] or "")
        for row in previous.iter_rows(named=True)
        if row["status"] == "failed" and row["url"] is not None and is_permanent(row["reason"])
    }
    return [
        SourceVideo(
            video_id=video_id,
            source=group["source"][0],
            url=group["url"][0],
            path=group["path"][0],
            windows=tuple(
                (s, e)
                for s, e in zip(group["start_s"], group["end_s"], strict=True)
                if s is not None
            ),
            previous_duration_s=known_duration.get(video_id),
            final=final.get(video_id),
        )
        for (video_id,), group in sources.sort("line").group_by("video_id", maintain_order=True)
    ]


def _copy_earlier_download(root: StorageRoot, shard: str, video: SourceVideo, folder: str) -> None:
    """With a remote root, bring an earlier run's download into the scratch folder, so it is
    reused instead of fetched again."""
    for remote in root.glob("media", shard, f"{video.video_id}.*"):
        local = os.path.join(folder, os.path.basename(remote))
        if not os.path.exists(local):
            root.fs.get(remote, local)


def _download(
    shard: str,
    video: SourceVideo,
    folder: str,
    options: IngestOptions,
    breaker: SiteBreaker,
    slots: SiteSlots,
) -> Fetched:
    """Download one video in one of its site's slots, through the site's circuit breaker,
    telling it what was answered."""
    site = site_of(video.url)
    try:
        with slots.hold(site):
            fetched = download_video(
                video.url,
                folder,
                video.video_id,
                windows=list(video.windows) or None,
                settings=options.download,
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


def fetch_video(
    root: StorageRoot,
    shard: str,
    video: SourceVideo,
    folder: str,
    options: IngestOptions,
    breaker: SiteBreaker,
    slots: SiteSlots,
) -> VideoRecord:
    """The video's local files: a checked local path, or a download into ``folder``; an
    earlier permanent failure is kept without asking again."""
    if video.final is not None:
        return VideoRecord.failure(video, *video.final)
    if video.is_local:
        try:
            path = locate_local(video.path, options.allowed_roots)
        except FetchError as error:
            return VideoRecord.failure(video, error.reason, error.detail)
        return VideoRecord(video, files=[path])
    if not root.is_local:
        _copy_earlier_download(root, shard, video, folder)
    try:
        fetched = _download(shard, video, folder, options, breaker, slots)
    except FetchError as error:
        return VideoRecord.failure(video, error.reason, error.detail)
    duration = fetched.duration_s
    if duration is None and fetched.sections is not None:
        duration = video.previous_duration_s
    return VideoRecord(
        video,
        files=list(fetched.paths),
        sections=fetched.sections,
        duration_s=duration,
        downloaded=not fetched.reused,
        reused=fetched.reused,
    )


def unexpected_failure(record: VideoRecord, phase: str, error: Exception) -> VideoRecord:
    """The last resort of one video: an exception of ``phase`` as its ``internal_error``
    (the traceback goes to the log, without the credentials of any URL in it)."""
    trace = redact("".join(traceback.format_exception(error)))
    log.error("%s of video %s failed unexpectedly:\n%s", phase, record.video.video_id, trace)
    record.mark(Reason.INTERNAL_ERROR, f"{phase}: {type(error).__name__}: {error}")
    return record


def mark_duplicates(records: Sequence[VideoRecord], known: dict[str, str]) -> None:
    """Keep the first video of each content hash (``known`` first), mark the others; across
    shards the content index does it (``dedup.claim_content``)."""
    for record in records:
        if not record.ok or record.sha256 is None:
            continue
        if record.sha256 in known:
            record.mark(Reason.DUPLICATE_CONTENT, f"same content as {known[record.sha256]}")
        else:
            known[record.sha256] = record.video.video_id


def publish_media(root: StorageRoot, shard: str, records: Sequence[VideoRecord]) -> None:
    """Copy downloaded files to a remote root (``media/<shard>/``) and note where they went."""
    for record in records:
        if record.video.is_local or not (record.downloaded or record.reused):
            continue
        for local in record.files:
            name = os.path.basename(local)
            target = root.path("media", shard, name)
            if not root.fs.exists(target):
                root.fs.put(local, target)
            record.published[local] = root.uri("media", shard, name)


def write_shard_tables(
    tables: TableStore,
    shard: str,
    records: Sequence[VideoRecord],
    clips: Sequence[tuple[VideoRecord, ClipRecord]],
    *,
    run_id: str,
    code_version: str,
) -> int:
    """Replace the shard's ``videos`` and ``clips`` rows; returns the number of clips."""
    now = datetime.now(UTC)
    stamp = {"ingested_at": now, "run_id": run_id, "code_version": code_version}
    videos = pl.DataFrame([r.row() | stamp for r in records], infer_schema_length=None)
    tables.write(VIDEOS_TABLE, shard, videos)
    rows = [
        clip.row() | {"media_path": record.published.get(clip.media_path, clip.media_path),
                      "run_id": run_id}
        for record, clip in clips
    ]  # fmt: skip
    if not rows:
        tables.delete(CLIPS_TABLE, shard)
        return 0
    frame = pl.DataFrame(rows, infer_schema_length=None)
    frame = frame.unique("clip_id", keep="first", maintain_order=True)
    tables.write(CLIPS_TABLE, shard, frame)
    return frame.height


@contextlib.contextmanager
def _media_folder(root: StorageRoot, shard: str, options: IngestOptions) -> Iterator[str]:
    """Where downloads land: under the root when it is local, else a scratch folder."""
    if root.is_local:
        yield root.path("media", shard)
        return
    with tempfile.TemporaryDirectory(prefix="acav-media-", dir=options.scratch_dir) as folder:
        yield folder


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
    videos = read_shard_videos(tables, shard)
    download = options.download
    breaker = SiteBreaker(lambda site: download.site_options(site).trip_after)
    slots = SiteSlots(lambda site: download.site_options(site).concurrent_downloads)
    done = 0

    def advance(steps: int = 1) -> None:
        nonlocal done
        done += steps
        if progress is not None:
            progress(done, 2 * len(videos))

    def fetch_and_inspect(video: SourceVideo) -> VideoRecord:
        record, phase = VideoRecord(video), "fetch_video"
        try:
            record = fetch_video(root, shard, video, folder, options, breaker, slots)
            phase = "inspect_video"
            return inspect_video(record, options) if record.ok else record
        except Exception as error:  # one video never fails its shard
            return unexpected_failure(record, phase, error)

    def windows_of(record: VideoRecord) -> list[ClipRecord]:
        try:
            return choose_windows(record, options)
        except Exception as error:  # one video never fails its shard
            unexpected_failure(record, "choose_windows", error)
            return []

    with (
        root.lock(f"ingest-{shard}"),
        _media_folder(root, shard, options) as folder,
        ThreadPoolExecutor(max_workers=options.concurrent_downloads) as pool,
    ):
        records = []
        for record in pool.map(fetch_and_inspect, videos):
            records.append(record)
            advance()
        if options.dedup_across_shards:
            previous = tables.read(VIDEOS_TABLE, [shard])
            claim_content(ContentIndex(root), shard, records, previous)
        else:
            mark_duplicates(records, {})
        kept = [r for r in records if r.ok]
        advance(len(records) - len(kept))
        clips = []
        for record, found in zip(kept, pool.map(windows_of, kept), strict=True):
            clips += [(record, clip) for clip in found]
            advance()
        if not root.is_local:
            publish_media(root, shard, records)
        n_clips = write_shard_tables(
            tables, shard, records, clips, run_id=run_id, code_version=code_version
        )
    stats = ShardStats(shard=shard, total=len(videos)).count(records, n_clips, breaker)
    stats.seconds = round(time.perf_counter() - started, 3)
    log.info("shard %s: %s", shard, stats.as_metadata())
    return stats
