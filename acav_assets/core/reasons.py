"""The closed set of reason codes a dropped item can carry, and which of them are final.

A bad video, clip or embedding is data, not an exception: it becomes a row whose ``reason``
is one of these codes (free text goes in ``detail``). Every stage takes its codes from here,
so the quality model and the checks can group by them.

A failed fetch is either *permanent* (the video itself is gone or closed to this deployment:
a later run of the shard never fetches it again, its earlier row tells) or *transient* (the
site, the network or acav's own circuit breaker said "not now": a later run tries again).
The split lives here and nowhere else.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    # sources and access
    PATH_OUTSIDE_ROOT = "path_outside_root"
    FILE_NOT_FOUND = "file_not_found"
    # network reach: a URL (or a redirect, or a segment of a playlist) that names a loopback,
    # link-local or private address while the deployment refuses those
    PRIVATE_ADDRESS = "private_address"
    # a URL acav never fetches: not http(s) (a redirect to file://, a data: segment)
    URL_REFUSED = "url_refused"
    # downloads
    HTTP_404 = "http_404"
    HTTP_ERROR = "http_error"
    TIMEOUT = "timeout"
    DOWNLOAD_ERROR = "download_error"
    EMPTY_FILE = "empty_file"
    NO_SUITABLE_FORMAT = "no_suitable_format"
    # bounded downloads (IngestOptions.max_download_bytes, max_download_s)
    TOO_LARGE = "too_large"
    TIME_LIMIT = "time_limit"
    # what a video site answered (classified from yt-dlp's messages)
    UNAVAILABLE = "unavailable"
    PRIVATE = "private"
    REMOVED = "removed"
    AGE_RESTRICTED = "age_restricted"
    GEO_BLOCKED = "geo_blocked"
    MEMBERS_ONLY = "members_only"
    LIVE = "live"
    BOT_CHECK = "bot_check"
    RATE_LIMITED = "rate_limited"
    # not asked: the site's circuit breaker was open (see core/media/breaker.py)
    DEFERRED = "deferred"
    # probing and filters
    PROBE_ERROR = "probe_error"
    # a container that is not on the allowlist (an HLS playlist, an ffconcat list, ...)
    CONTAINER_NOT_ALLOWED = "container_not_allowed"
    NO_DURATION = "no_duration"  # neither the container nor its packets tell a length
    TRUNCATED = "truncated"
    NO_AUDIO_STREAM = "no_audio_stream"
    NO_VIDEO_STREAM = "no_video_stream"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    TOO_SMALL = "too_small"
    DUPLICATE_CONTENT = "duplicate_content"
    # decoding and features
    DECODE_ERROR = "decode_error"
    SILENT_AUDIO = "silent_audio"
    FROZEN_VIDEO = "frozen_video"
    BLACK_VIDEO = "black_video"
    WINDOW_OUT_OF_RANGE = "window_out_of_range"
    # the last resort: an exception acav did not expect while handling one item; ``detail``
    # names the phase and the exception type, the traceback is in the log
    INTERNAL_ERROR = "internal_error"


# Fetch failures that a later run would only repeat: the video is gone, private, or closed to
# this deployment's account and location (new cookies or a proxy are a new deployment: clear
# the shard's rows to retry them).
PERMANENT: frozenset[Reason] = frozenset(
    {
        Reason.HTTP_404,
        Reason.UNAVAILABLE,
        Reason.PRIVATE,
        Reason.REMOVED,
        Reason.AGE_RESTRICTED,
        Reason.GEO_BLOCKED,
        Reason.MEMBERS_ONLY,
    }
)
# Fetch failures a later run may not see: the site throttled or challenged this session, the
# network failed, a live stream has not ended yet, or acav chose not to ask.
TRANSIENT: frozenset[Reason] = frozenset(
    {
        Reason.PATH_OUTSIDE_ROOT,
        Reason.FILE_NOT_FOUND,
        Reason.PRIVATE_ADDRESS,
        Reason.URL_REFUSED,
        Reason.HTTP_ERROR,
        Reason.TIMEOUT,
        Reason.DOWNLOAD_ERROR,
        Reason.EMPTY_FILE,
        Reason.NO_SUITABLE_FORMAT,
        Reason.TOO_LARGE,
        Reason.TIME_LIMIT,
        Reason.LIVE,
        Reason.BOT_CHECK,
        Reason.RATE_LIMITED,
        Reason.DEFERRED,
    }
)
# The answers that mean "this site is pushing back on us": they trip the circuit breaker.
PUSHBACK: frozenset[Reason] = frozenset({Reason.BOT_CHECK, Reason.RATE_LIMITED})
# Asked again by the retry schedule once the site had time to cool down (yt-dlp: YouTube
# rate-limits a session "for up to an hour"); other transient failures wait for the next
# run of their shard.
RETRY_SOON: frozenset[Reason] = PUSHBACK | {Reason.DEFERRED}


def is_permanent(reason: str | None) -> bool:
    """Whether a failed fetch with ``reason`` is final (never fetched again)."""
    return reason in PERMANENT
