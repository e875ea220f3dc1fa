"""Getting a video onto local disk: yt-dlp for URLs, checked paths for local files.

Downloads use yt-dlp's Python API (its generic extractor also takes direct file URLs). Where
the clip windows are known, only those sections are fetched (``download_ranges`` with
keyframes forced at the cuts). A finished file is renamed into place by yt-dlp, so a file
with the final name is complete and a re-run reuses it without touching the network.
Failures are ``FetchError`` with a reason code (see ``ytdlp_errors``); the caller records
them as rows. Each site's own yt-dlp settings (``sites``) are merged in, and YouTube's player
challenges are solved by the Deno binary of the ``deno`` package with the ``yt-dlp-ejs``
scripts, both pinned with yt-dlp, never by whatever happens to be on PATH.
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
from yt_dlp.utils import download_range_func

from acav_assets.core.media.options import DownloadSettings
from acav_assets.core.media.sites import site_of
from acav_assets.core.media.stack import YtdlpLog, packaged_deno, without_credentials
from acav_assets.core.media.ytdlp_errors import classify_download_error
from acav_assets.core.reasons import Reason

log = logging.getLogger(__name__)

_PARTIAL = (".part", ".ytdl", ".tmp", ".temp")
# Worth another try within the same call; a bot check or a rate limit is not (asking again
# at once makes it worse): the circuit breaker and a later run deal with those.
_RETRY_NOW = {Reason.HTTP_ERROR, Reason.TIMEOUT, Reason.DOWNLOAD_ERROR}
# A stream still live (or announced, or just ended and not yet a video) would be downloaded
# for as long as it lasts: skipped as ``live``, tried again by a later run.
_LIVE_STATUSES = ("is_live", "is_upcoming", "post_live")


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


def _skip_live(info: dict, *, incomplete: bool = False) -> str | None:
    """yt-dlp ``match_filter``: refuse a live stream before its download starts."""
    status = info.get("live_status")
    return f"live_status is {status}" if status in _LIVE_STATUSES else None


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
    folder: str, name: str, settings: DownloadSettings, *, url: str, sectioned: bool
) -> dict[str, Any]:
    """The yt-dlp parameters of one download: acav's, then the site's own settings."""
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
        "match_filter": _skip_live,
        **settings.site_options(site_of(url)).ytdlp_params(packaged_deno()),
    }
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
    url: str, folder: str, name: str, windows: list[tuple[float, float]] | None, params: dict
) -> Fetched:
    if windows:
        params = {
            **params,
            "download_ranges": download_range_func(None, list(windows)),
            "force_keyframes_at_cuts": True,
        }
    with _private_cookies(params) as params, yt_dlp.YoutubeDL(params) as ydl:
        info = ydl.extract_info(url, download=True)
    downloads = (info or {}).get("requested_downloads") or []
    paths = [
        d["filepath"] for d in downloads if d.get("filepath") and os.path.exists(d["filepath"])
    ]
    if (info or {}).get("live_status") in _LIVE_STATUSES:
        raise FetchError(Reason.LIVE, f"{url}: live_status is {info['live_status']}")
    if not paths:
        raise FetchError(Reason.DOWNLOAD_ERROR, f"yt-dlp reported no file for {url}")
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
    params = ytdlp_params(folder, name, settings, url=url, sectioned=bool(windows))
    for attempt in range(settings.retries + 1):
        try:
            return _download_once(url, folder, name, windows, params)
        except yt_dlp.utils.DownloadError as error:
            reason = classify_download_error(str(error), error)
            detail = without_credentials(re.sub(r"^ERROR:\s*", "", str(error)).strip())[:500]
            if reason not in _RETRY_NOW or attempt == settings.retries:
                raise FetchError(reason, detail) from error
            delay = settings.backoff_s * 2**attempt
            log.info("retrying %s in %.1f s after %s", url, delay, reason)
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


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
