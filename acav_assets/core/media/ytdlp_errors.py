"""What a failed yt-dlp download means, as a reason code.

yt-dlp reports a failure as a ``DownloadError`` whose text is its own message or, for YouTube,
the site's playability reason passed through (``raise_no_formats(reason)`` in
``extractor/youtube/_video.py``), and whose ``exc_info`` keeps the original exception
(``GeoRestrictedError``, ``UserNotLive``, an ``HTTPError`` as the ``cause``). The exception
types are read first, then the text. Each pattern below names where yt-dlp (2026.10.26)
writes or expects that text; tests/core/media/test_media_ytdlp_errors.py runs yt-dlp's real
YouTube extractor on canned player responses and its generic extractor against a loopback
server to check them. The order matters: a rate-limit answer begins "Video unavailable", a
bot check asks to "Sign in" like a private video does.
"""

from __future__ import annotations

import re

from yt_dlp.networking.exceptions import HTTPError, RequestError
from yt_dlp.utils import GeoRestrictedError, UserNotLive

from acav_assets.core.reasons import Reason


class DownloadStopped(RequestError):
    """A request or download acav stopped on purpose (a private address, a file over the
    size limit), raised inside yt-dlp and carrying its reason out. A ``RequestError``, so
    that yt-dlp's request director passes it on instead of trying another handler."""

    def __init__(self, reason: Reason, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


# (reason, pattern): the first match wins. Case-insensitive.
_PATTERNS: tuple[tuple[Reason, str], ...] = (
    # networking/exceptions.py HTTPError: f'HTTP Error {status}: {reason}'; and
    # _video.py, reason "This content isn't available, try again later": "... has been
    # rate-limited by YouTube for up to an hour".
    (Reason.RATE_LIMITED, r"http error 429\b"),
    (Reason.RATE_LIMITED, r"has been rate-limited by youtube"),
    (Reason.RATE_LIMITED, r"this content isn['’]t available, try again later"),
    # YouTube's "Sign in to confirm you're not a bot" (_video.py strips its tail "This helps
    # protect our community. Learn more"), "... YouTube is requiring a captcha challenge
    # before playback" and "All player responses are invalid. Your IP is likely being
    # blocked by Youtube" (both _video.py).
    (Reason.BOT_CHECK, r"not a bot"),
    (Reason.BOT_CHECK, r"requiring a captcha challenge"),
    (Reason.BOT_CHECK, r"your ip is likely being blocked"),
    # _video.py: subreason "The uploader has not made this video available in your country"
    # -> raise_geo_restricted; common.py's default "This video is not available from your
    # location due to geo restriction".
    (Reason.GEO_BLOCKED, r"not made this video available in your country"),
    (Reason.GEO_BLOCKED, r"not available from your location"),
    # YouTube's "Join this channel to get access to members-only content ..." and "This
    # video is available to this channel's members on level ..." (_base.py knows the badge
    # as "members only", availability "subscriber_only").
    (Reason.MEMBERS_ONLY, r"members[- ]only"),
    (Reason.MEMBERS_ONLY, r"available to this channel['’]s members"),
    # _video.py test 'skip': "This video has been removed for violating YouTube's policy
    # on hate speech."; "... the YouTube account associated with this video has been
    # terminated".
    (Reason.REMOVED, r"has been removed|has been terminated"),
    # _video.py _is_agegated: AGE_GATE_REASONS 'confirm your age', 'age-restricted',
    # 'inappropriate'.
    (Reason.AGE_RESTRICTED, r"confirm your age|age-restricted|inappropriate"),
    # _video.py test 'skip': 'Private video'; "This video is private".
    (Reason.PRIVATE, r"private video|this video is private"),
    # YouTube's LIVE_STREAM_OFFLINE reasons ("This live event will begin in 3 hours.",
    # "Premieres in ..."); utils UserNotLive "The channel is not currently live".
    (Reason.LIVE, r"live event will begin|premieres in|premiere will begin|not currently live"),
    # _video.py test 'skip': 'Video unavailable', 'This video does not exist.'; _tab.py
    # 'This video is not available.'
    (Reason.UNAVAILABLE, r"video unavailable|this video is not available|video does not exist"),
    (Reason.HTTP_404, r"http error 404\b"),
    (Reason.HTTP_ERROR, r"http error \d{3}"),
    (Reason.TIMEOUT, r"timed out|timeout"),
    # downloader/http.py "Did not get any data blocks", fragment.py "The downloaded file is empty"
    (Reason.EMPTY_FILE, r"did not get any data blocks|downloaded file is empty"),
    # YoutubeDL.py: 'Requested format is not available' (also what a YouTube download
    # without a JS runtime ends with)
    (Reason.NO_SUITABLE_FORMAT, r"requested format is not available"),
)
_COMPILED = tuple((reason, re.compile(pattern, re.IGNORECASE)) for reason, pattern in _PATTERNS)


def _exceptions(error: BaseException | None):
    """The exception and those it wraps (yt-dlp's ``exc_info`` and ``cause``, Python's
    ``__cause__`` and ``__context__``), each once."""
    pending, seen = [error], set()
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        info = getattr(current, "exc_info", None)
        pending.append(info[1] if isinstance(info, tuple) and len(info) > 1 else None)
        pending += [getattr(current, "cause", None), current.__cause__, current.__context__]


def classify_download_error(message: str, error: BaseException | None = None) -> Reason:
    """The reason code of a failed download: acav's own where it stopped the download, else
    from yt-dlp's exception types where ``error`` carries them, else from its ``message``."""
    for exception in _exceptions(error):
        if isinstance(exception, DownloadStopped):
            return exception.reason
    for exception in _exceptions(error):
        if isinstance(exception, GeoRestrictedError):
            return Reason.GEO_BLOCKED
        if isinstance(exception, UserNotLive):
            return Reason.LIVE
        if isinstance(exception, HTTPError) and exception.status == 429:
            return Reason.RATE_LIMITED
    for reason, pattern in _COMPILED:
        if pattern.search(message):
            return reason
    return Reason.DOWNLOAD_ERROR
