"""Getting a video onto local disk: yt-dlp for URLs, checked paths for local files.

Downloads use yt-dlp's Python API (its generic extractor also takes direct file URLs). Where
the clip windows are known, only those sections are fetched (``download_ranges`` with
keyframes forced at the cuts). A finished file is renamed into place by yt-dlp, so a file
with the final name is complete and a re-run reuses it without touching the network.
Failures are ``FetchError`` with a reason code; the caller records them as rows.
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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yt_dlp
from yt_dlp.utils import download_range_func

from acav_assets.core.reasons import Reason

log = logging.getLogger(__name__)

_PARTIAL = (".part", ".ytdl", ".tmp", ".temp")
_TRANSIENT = {Reason.HTTP_ERROR, Reason.TIMEOUT, Reason.DOWNLOAD_ERROR}


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


@dataclass(frozen=True)
class DownloadSettings:
    """yt-dlp settings for one shard (see ``IngestOptions`` for their meaning)."""

    max_height: int = 360
    retries: int = 3
    backoff_s: float = 1.0
    socket_timeout: float = 30.0
    rate_limit: int | None = None
    cookies_file: str | None = None
    proxy: str | None = None


class _YtdlpLog:
    """Routes yt-dlp's messages to logging instead of stdout/stderr."""

    def debug(self, message: str) -> None:
        log.debug("yt-dlp: %s", message)

    info = debug

    def warning(self, message: str) -> None:
        log.debug("yt-dlp warning: %s", message)

    def error(self, message: str) -> None:
        log.debug("yt-dlp error: %s", message)


def classify_download_error(message: str) -> Reason:
    """Map a yt-dlp error message to a reason code."""
    text = message.lower()
    if re.search(r"http error 404\b", text):
        return Reason.HTTP_404
    if re.search(r"http error \d{3}", text):
        return Reason.HTTP_ERROR
    if "timed out" in text or "timeout" in text:
        return Reason.TIMEOUT
    if "did not get any data blocks" in text or "downloaded file is empty" in text:
        return Reason.EMPTY_FILE
    if "requested format is not available" in text:
        return Reason.NO_SUITABLE_FORMAT
    return Reason.DOWNLOAD_ERROR


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


def _ytdlp_params(folder: str, name: str, settings: DownloadSettings, sectioned: bool) -> dict:
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
        "logger": _YtdlpLog(),
        "socket_timeout": settings.socket_timeout,
        "retries": settings.retries,
        "fragment_retries": settings.retries,
        "extractor_retries": 0,
        "retry_sleep_functions": {"http": lambda n: settings.backoff_s * 2**n},
        "overwrites": False,
        "continuedl": True,
        "writeinfojson": False,
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
) -> Fetched:
    """Download ``url`` (or only its ``windows``) as ``<folder>/<name>.<ext>``.

    Reuses finished files of an earlier run. Transient failures (5xx, timeouts) are retried
    ``settings.retries`` times with exponential backoff; raises ``FetchError``.
    """
    settings = settings or DownloadSettings()
    windows = sorted({(float(s), float(e)) for s, e in windows}) if windows else None
    os.makedirs(folder, exist_ok=True)
    if (found := existing_download(folder, name, windows)) is not None:
        return Fetched(found, windows, None, reused=True)
    params = _ytdlp_params(folder, name, settings, sectioned=bool(windows))
    for attempt in range(settings.retries + 1):
        try:
            return _download_once(url, folder, name, windows, params)
        except yt_dlp.utils.DownloadError as error:
            reason = classify_download_error(str(error))
            detail = re.sub(r"^ERROR:\s*", "", str(error)).strip()[:500]
            if reason not in _TRANSIENT or attempt == settings.retries:
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
