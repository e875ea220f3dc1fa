"""Getting a video onto local disk: yt-dlp for URLs, checked paths for local files.

Downloads use yt-dlp's Python API (its generic extractor also takes direct file URLs). Where
the clip windows are known, only those sections are fetched (``download_ranges`` with
keyframes forced at the cuts). A finished file is renamed into place by yt-dlp, so a file
with the final name is complete and a re-run reuses it without touching the network.
Failures are ``FetchError`` with a reason code (see ``ytdlp_errors``); the caller records
them as rows. Each site's own yt-dlp settings (``sites``) are merged in, and YouTube's player
challenges are solved by the Deno binary of the ``deno`` package with the ``yt-dlp-ejs``
scripts, both pinned with yt-dlp, never by whatever happens to be on PATH.

Nothing a server says is trusted: every request and redirect is checked (``reach``), a
download stops at ``max_bytes`` or after ``max_seconds`` (``too_large``, ``time_limit``), and
every ffmpeg that yt-dlp runs reads only the protocols and containers it needs.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import yt_dlp
from yt_dlp.postprocessor.ffmpeg import FFmpegPostProcessor
from yt_dlp.utils import download_range_func

from acav_assets.core.media.containers import ALLOWED_CONTAINERS, AUDIO_STREAMS, whitelist_args
from acav_assets.core.media.options import DownloadSettings
from acav_assets.core.media.reach import check_url, format_urls, youtube_dl
from acav_assets.core.media.sites import site_of
from acav_assets.core.media.stack import YtdlpLog, packaged_deno
from acav_assets.core.media.ytdlp_errors import DownloadStopped, classify_download_error
from acav_assets.core.reasons import Reason
from acav_assets.core.redaction import redact

log = logging.getLogger(__name__)

_PARTIAL = (".part", ".ytdl", ".tmp", ".temp")
_PARTIAL_FILE = re.compile(r"\.(part|ytdl|tmp|temp)(\b|-|$)")
# Worth another try within the same call; a bot check or a rate limit is not (asking again
# at once makes it worse): the circuit breaker and a later run deal with those.
_RETRY_NOW = {Reason.HTTP_ERROR, Reason.TIMEOUT, Reason.DOWNLOAD_ERROR}
# A stream still live (or announced, or just ended and not yet a video) would be downloaded
# for as long as it lasts: skipped as ``live``, tried again by a later run.
_LIVE_STATUSES = ("is_live", "is_upcoming", "post_live")
# What ffmpeg may open when yt-dlp runs it as the downloader of sections (the network, and
# the keys of encrypted HLS) and when it post-processes a download (only the local files).
_DOWNLOADER_PROTOCOLS = "http,https,tcp,tls,crypto"


def _subclasses(cls: type) -> list[type]:
    return [sub for child in cls.__subclasses__() for sub in (child, *_subclasses(child))]


# yt-dlp's ffmpeg post-processors, each by the name yt-dlp looks its arguments up with.
_FFMPEG_POSTPROCESSORS = tuple(
    sorted({pp.pp_key().lower() for pp in _subclasses(FFmpegPostProcessor)})
)


class FetchError(Exception):
    """A video that could not be fetched or read, with the reason code to record."""

    def __init__(self, reason: Reason, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


@dataclass(frozen=True)
class Fetched:
    """Local files of one video: the whole video, or one file per window (``sections``)."""

    paths: list[str]
    sections: list[tuple[float, float]] | None
    duration_s: float | None
    reused: bool


def _match_filter(settings: DownloadSettings) -> Callable[..., str | None]:
    """yt-dlp's ``match_filter``: refuse a live stream before its download starts, and check
    the URLs of the chosen formats (ffmpeg fetches sections itself, past yt-dlp's checks)."""

    def match(info: dict, *, incomplete: bool = False) -> str | None:
        status = info.get("live_status")
        if status in _LIVE_STATUSES:
            return f"live_status is {status}"
        if not incomplete:
            for url in format_urls(info):
                check_url(url, refuse_private=settings.refuse_private_addresses)
        return None

    return match


def _limits(settings: DownloadSettings, started: float) -> Callable[[dict], None]:
    """yt-dlp progress hook: stop a download past ``max_bytes`` or ``max_seconds``."""

    def check(status: dict) -> None:
        size = max(
            status.get("downloaded_bytes") or 0,
            status.get("total_bytes") or 0,
            status.get("total_bytes_estimate") or 0,
        )
        if settings.max_bytes is not None and size > settings.max_bytes:
            raise DownloadStopped(
                Reason.TOO_LARGE, f"{size} bytes > max_bytes={settings.max_bytes}"
            )
        elapsed = time.monotonic() - started
        if settings.max_seconds is not None and elapsed > settings.max_seconds:
            raise DownloadStopped(
                Reason.TIME_LIMIT,
                f"still downloading after {elapsed:.0f} s > {settings.max_seconds} s",
            )

    return check


def _ffmpeg_args(settings: DownloadSettings) -> dict[str, Any]:
    """Protocol and format whitelists for every ffmpeg yt-dlp runs."""
    local = whitelist_args(ALLOWED_CONTAINERS + AUDIO_STREAMS)
    network = ["-protocol_whitelist", _DOWNLOADER_PROTOCOLS]
    network += ["-rw_timeout", str(round(settings.socket_timeout * 1e6))]
    return {
        "external_downloader_args": {"ffmpeg_i": network},
        "postprocessor_args": {f"{pp}+ffmpeg_i": local for pp in _FFMPEG_POSTPROCESSORS},
    }


def _finished(pattern: str) -> list[str]:
    return sorted(p for p in glob.glob(glob.escape(pattern) + ".*") if not p.endswith(_PARTIAL))


def section_name(name: str, start_s: float) -> str:
    """File stem of one downloaded window: ``<name>.<start in ms>``."""
    return f"{name}.{round(start_s * 1000)}"


def existing_download(
    folder: str, name: str, windows: list[tuple[float, float]] | None
) -> list[str] | None:
    """The finished files of an earlier run, or ``None`` if anything is missing."""
    if windows:
        found = [_finished(os.path.join(folder, section_name(name, s))) for s, _ in windows]
        return [f[0] for f in found] if all(found) else None
    whole = [
        p for p in _finished(os.path.join(folder, name)) if p.count(".") == name.count(".") + 1
    ]
    return whole[:1] or None


def ytdlp_params(
    folder: str,
    name: str,
    settings: DownloadSettings,
    *,
    url: str,
    sectioned: bool,
    started: float | None = None,
) -> dict[str, Any]:
    """The yt-dlp parameters of one download: acav's, then the site's own settings;
    ``started`` (``time.monotonic()``) is when the download's time limit began."""
    height = settings.max_height
    template = f"{name}.%(section_start)s.%(ext)s" if sectioned else f"{name}.%(ext)s"
    params: dict[str, Any] = {
        "format": (
            f"bv*[height<=?{height}]+ba/b[height<=?{height}][acodec!=none]/b[height<=?{height}]"
        ),
        "merge_output_format": "mp4",
        "outtmpl": os.path.join(folder, template),
        "paths": {"temp": folder},
        "noplaylist": True,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "logger": YtdlpLog(),
        "socket_timeout": settings.socket_timeout,
        "retries": settings.retries,
        "fragment_retries": settings.retries,
        "extractor_retries": 0,
        "retry_sleep_functions": {"http": lambda n: settings.backoff_s * 2**n},
        "overwrites": False,
        "continuedl": True,
        "writeinfojson": False,
        "match_filter": _match_filter(settings),
        "progress_hooks": [_limits(settings, time.monotonic() if started is None else started)],
        **_ffmpeg_args(settings),
        **settings.site_options(site_of(url)).ytdlp_params(packaged_deno()),
    }
    if settings.refuse_private_addresses:
        params["external_downloader"] = {"default": "native"}  # HLS, DASH through the checks
    if settings.rate_limit:
        params["ratelimit"] = settings.rate_limit
    if settings.cookies_file:
        params["cookiefile"] = settings.cookies_file
    if settings.proxy:
        params["proxy"] = settings.proxy
    return params


@contextlib.contextmanager
def _private_cookies(params: dict) -> Iterator[dict]:
    """yt-dlp writes its cookie jar back to ``cookiefile`` when it closes, and the configured
    file may be read-only (a mounted Secret): each session gets a private copy instead."""
    source = params.get("cookiefile")
    if source is None:
        yield params
        return
    with tempfile.TemporaryDirectory(prefix="acav-cookies-") as folder:
        copy = os.path.join(folder, "cookies.txt")
        shutil.copyfile(source, copy)
        yield {**params, "cookiefile": copy}


def _download_once(
    url: str,
    folder: str,
    name: str,
    windows: list[tuple[float, float]] | None,
    params: dict,
    refuse_private: bool,
) -> Fetched:
    if windows:
        params = {
            **params,
            "download_ranges": download_range_func(None, list(windows)),
            "force_keyframes_at_cuts": True,
        }
    with (
        _private_cookies(params) as params,
        youtube_dl(params, refuse_private=refuse_private) as ydl,
    ):
        info = ydl.extract_info(url, download=True)
    downloads = (info or {}).get("requested_downloads") or []
    paths = [
        d["filepath"] for d in downloads if d.get("filepath") and os.path.exists(d["filepath"])
    ]
    if (info or {}).get("live_status") in _LIVE_STATUSES:
        raise FetchError(Reason.LIVE, f"{redact(url)}: live_status is {info['live_status']}")
    if not paths:
        raise FetchError(Reason.DOWNLOAD_ERROR, f"yt-dlp reported no file for {redact(url)}")
    duration = info.get("duration")
    if not windows:
        return Fetched(paths[:1], None, duration, reused=False)
    by_start = {float(d.get("section_start") or 0.0): d["filepath"] for d in downloads}
    renamed = []
    for start, _ in windows:
        source = by_start.get(float(start))
        if source is None:
            raise FetchError(Reason.DOWNLOAD_ERROR, f"yt-dlp skipped the window at {start} s")
        target = os.path.join(folder, section_name(name, start) + os.path.splitext(source)[1])
        os.replace(source, target)
        by_start = {k: (target if v == source else v) for k, v in by_start.items()}
        renamed.append(target)
    return Fetched(renamed, list(windows), duration, reused=False)


def download_video(
    url: str,
    folder: str,
    name: str,
    *,
    windows: list[tuple[float, float]] | None = None,
    settings: DownloadSettings | None = None,
    may_ask: Callable[[], bool] | None = None,
) -> Fetched:
    """Download ``url`` (or only its ``windows``) as ``<folder>/<name>.<ext>``.

    Reuses finished files of an earlier run. Before the network is used, ``may_ask`` (a
    circuit breaker) may say no: ``FetchError`` with ``deferred``. Network failures (5xx,
    timeouts) are retried ``settings.retries`` times with exponential backoff; raises
    ``FetchError``.
    """
    settings = settings or DownloadSettings()
    windows = sorted({(float(s), float(e)) for s, e in windows}) if windows else None
    os.makedirs(folder, exist_ok=True)
    if (found := existing_download(folder, name, windows)) is not None:
        return Fetched(found, windows, None, reused=True)
    if may_ask is not None and not may_ask():
        raise FetchError(Reason.DEFERRED, f"not asked: {site_of(url)} is refusing this shard")
    started = time.monotonic()
    params = ytdlp_params(folder, name, settings, url=url, sectioned=bool(windows), started=started)
    for attempt in range(settings.retries + 1):
        try:
            return _download_once(
                url, folder, name, windows, params, settings.refuse_private_addresses
            )
        except (yt_dlp.utils.DownloadError, DownloadStopped) as error:
            reason = classify_download_error(str(error), error)
            detail = redact(re.sub(r"^ERROR:\s*", "", str(error)).strip())[:500]
            out_of_time = (
                settings.max_seconds is not None
                and time.monotonic() - started > settings.max_seconds
            )
            if reason not in _RETRY_NOW or attempt == settings.retries or out_of_time:
                _remove_partial(folder, name)
                raise FetchError(reason, detail) from error
            delay = settings.backoff_s * 2**attempt
            log.info("retrying %s in %.1f s after %s", redact(url), delay, reason)
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def _remove_partial(folder: str, name: str) -> None:
    """Delete the partial files of a failed download (``.part``, its HLS fragments, yt-dlp's
    temporary outputs), so a download stopped by a limit is not resumed into the same limit."""
    for path in glob.glob(os.path.join(glob.escape(folder), glob.escape(name) + ".*")):
        if _PARTIAL_FILE.search(os.path.basename(path)[len(name) :]):
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)


def locate_local(path: str, allowed_roots: list[str] | tuple[str, ...]) -> str:
    """The real path of a local video, if it lies under an allowed root (links resolved)."""
    real = os.path.realpath(path)
    for root in allowed_roots:
        base = os.path.realpath(root)
        if real == base or real.startswith(base.rstrip(os.sep) + os.sep):
            break
    else:
        roots = ", ".join(allowed_roots) or "none configured"
        raise FetchError(Reason.PATH_OUTSIDE_ROOT, f"{path} resolves to {real}, outside {roots}")
    if not os.path.isfile(real):
        raise FetchError(Reason.FILE_NOT_FOUND, f"{path} is not a file")
    return real
