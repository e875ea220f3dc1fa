"""Reasons from the messages yt-dlp really produces.

YouTube's answers are made by yt-dlp's own YouTube extractor: ``_initial_extract`` (the only
step that talks to YouTube) is replaced by a canned player response, and yt-dlp's
``_real_extract`` turns its playability status into the error it raises, exactly as it does
for a live answer (``extractor/youtube/_video.py``, the "if not formats" branch). The
playability reasons are YouTube's own words; each case says where yt-dlp's source has them
(its test expectations, the tokens its code looks for), or, where it has not, where yt-dlp
users reported them verbatim. HTTP answers come from yt-dlp's generic extractor against a
real server on 127.0.0.1.
"""

from __future__ import annotations

import pytest
import yt_dlp
from yt_dlp.extractor.youtube import YoutubeIE
from yt_dlp.utils import DownloadError, UserNotLive

from acav_assets.core.media import FetchError, download_video
from acav_assets.core.media.options import DownloadSettings
from acav_assets.core.media.stack import YtdlpLog
from acav_assets.core.media.ytdlp_errors import classify_download_error
from acav_assets.core.reasons import PERMANENT, PUSHBACK, TRANSIENT, Reason, is_permanent

VIDEO = "https://www.youtube.com/watch?v=aaaaaaaaaaa"


def _player_response(status: str, reason: str, subreason: str | None = None, **extra) -> dict:
    playability: dict = {"status": status, "reason": reason}
    if subreason is not None:
        playability["errorScreen"] = {
            "playerErrorMessageRenderer": {
                "reason": {"simpleText": reason},
                "subreason": {"simpleText": subreason},
            }
        }
    return {"playabilityStatus": playability, **extra}


def _youtube_error(monkeypatch, response: dict) -> DownloadError:
    """The DownloadError yt-dlp raises for a video whose player response is ``response``."""
    canned = (None, {}, None, False, [response], None)
    monkeypatch.setattr(YoutubeIE, "_initial_extract", lambda self, *args, **kwargs: canned)
    # a dead loopback proxy: any request this test did not foresee fails at once, offline
    params = {"quiet": True, "logger": YtdlpLog(), "proxy": "http://127.0.0.1:9"}
    with yt_dlp.YoutubeDL(params) as ydl, pytest.raises(DownloadError) as caught:
        ydl.extract_info(VIDEO, download=False)
    return caught.value


UPCOMING = {"videoDetails": {"videoId": "aaaaaaaaaaa", "title": "t", "isUpcoming": True}}
CAPTCHA = {"playerCaptchaViewModel": {"captcha": "a challenge"}}

YOUTUBE_ANSWERS = [
    # _video.py test 'skip': 'Private video'
    pytest.param(_player_response("LOGIN_REQUIRED", "Private video"), Reason.PRIVATE, id="private"),
    # _video.py test 'skip': 'Video unavailable'
    pytest.param(_player_response("ERROR", "Video unavailable"), Reason.UNAVAILABLE, id="unavail"),
    # _video.py test 'skip': 'This video does not exist.'
    pytest.param(
        _player_response("ERROR", "This video does not exist."),
        Reason.UNAVAILABLE,
        id="does-not-exist",
    ),
    # _video.py test 'skip': "This video has been removed for violating YouTube's policy on
    # hate speech."
    pytest.param(
        _player_response(
            "ERROR", "This video has been removed for violating YouTube's policy on hate speech."
        ),
        Reason.REMOVED,
        id="removed",
    ),
    # _video.py _is_agegated: 'confirm your age' is one of AGE_GATE_REASONS; the reason starts
    # with "Sign in", which yt-dlp's `'sign in' in reason.lower()` branch answers with its
    # cookies hint.
    pytest.param(
        _player_response("LOGIN_REQUIRED", "Sign in to confirm your age"),
        Reason.AGE_RESTRICTED,
        id="age",
    ),
    # _video.py: a subreason starting 'The uploader has not made this video available in your
    # country' makes yt-dlp raise GeoRestrictedError.
    pytest.param(
        _player_response(
            "UNPLAYABLE",
            "Video unavailable",
            "The uploader has not made this video available in your country",
        ),
        Reason.GEO_BLOCKED,
        id="geo",
    ),
    # Not in yt-dlp's source: YouTube's reason as yt-dlp prints it, e.g. in the traceback of
    # KurtBestor/Hitomi-Downloader#4403 (raise_no_formats(reason) in yt-dlp's youtube
    # extractor) and ytdl-org/youtube-dl#31238.
    pytest.param(
        _player_response(
            "UNPLAYABLE",
            "Join this channel to get access to members-only content like this video, "
            "and other exclusive perks.",
        ),
        Reason.MEMBERS_ONLY,
        id="members",
    ),
    # _video.py names the status 'LIVE_STREAM_OFFLINE' and the live status 'is_upcoming'
    # (videoDetails.isUpcoming); the reason is YouTube's announcement of a scheduled stream.
    pytest.param(
        _player_response(
            "LIVE_STREAM_OFFLINE", "This live event will begin in 3 hours.", **UPCOMING
        ),
        Reason.LIVE,
        id="upcoming",
    ),
    # _video.py strips 'This helps protect our community. Learn more', the tail of YouTube's
    # bot check, and appends its cookies hint.
    pytest.param(
        _player_response(
            "LOGIN_REQUIRED",
            "Sign in to confirm you’re not a bot. This helps protect our community. Learn more",
        ),
        Reason.BOT_CHECK,
        id="bot",
    ),
    # _video.py: with an errorScreen.playerCaptchaViewModel yt-dlp appends '. YouTube is
    # requiring a captcha challenge before playback' to the reason.
    pytest.param(
        {
            "playabilityStatus": {
                "status": "ERROR",
                "reason": "Video unavailable",
                "errorScreen": CAPTCHA,
            }
        },
        Reason.BOT_CHECK,
        id="captcha",
    ),
    # _video.py: a reason with "This content isn't available, try again later" becomes "...
    # The current session has been rate-limited by YouTube for up to an hour ..."
    pytest.param(
        _player_response(
            "UNPLAYABLE", "Video unavailable", "This content isn't available, try again later."
        ),
        Reason.RATE_LIMITED,
        id="session-rate-limited",
    ),
]


@pytest.mark.parametrize(("response", "expected"), YOUTUBE_ANSWERS)
def test_youtube_answer_is_classified_from_the_error_yt_dlp_raises(monkeypatch, response, expected):
    error = _youtube_error(monkeypatch, response)
    assert str(error).startswith("ERROR: [youtube] aaaaaaaaaaa: ")
    assert classify_download_error(str(error), error) == expected
    # the text alone is enough too (a message read back from a table, a log)
    assert classify_download_error(str(error)) == expected


def test_geo_block_is_read_from_yt_dlp_s_exception_type(monkeypatch):
    error = _youtube_error(monkeypatch, YOUTUBE_ANSWERS[5].values[0])
    assert type(error.exc_info[1]).__name__ == "GeoRestrictedError"
    assert classify_download_error("", error) == Reason.GEO_BLOCKED


def test_channel_not_live_is_read_from_user_not_live():
    # utils: UserNotLive(msg=None) says 'The channel is not currently live'
    try:
        raise UserNotLive(video_id="somechannel")
    except UserNotLive as inner:
        import sys

        error = DownloadError(f"ERROR: {inner}", sys.exc_info())
    assert "The channel is not currently live" in str(error)
    assert classify_download_error("", error) == Reason.LIVE
    assert classify_download_error(str(error)) == Reason.LIVE


@pytest.mark.slow_io
@pytest.mark.parametrize(
    ("status", "expected"),
    [(429, Reason.RATE_LIMITED), (404, Reason.HTTP_404), (503, Reason.HTTP_ERROR)],
)
def test_http_answers_are_classified_from_yt_dlp_s_generic_extractor(
    tmp_path, http_base, status, expected
):
    # networking/exceptions.py HTTPError: f'HTTP Error {response.status}: {response.reason}'
    settings = DownloadSettings(retries=0, backoff_s=0.0, socket_timeout=2.0)
    with pytest.raises(FetchError) as caught:
        download_video(f"{http_base}/status/{status}/x.mp4", str(tmp_path), "v", settings=settings)
    assert f"HTTP Error {status}" in caught.value.detail
    assert caught.value.reason == expected


@pytest.mark.slow_io
def test_a_rate_limit_is_not_retried_within_the_call(tmp_path, rate_limited_server):
    base, limit = rate_limited_server
    limit.budget = 0
    settings = DownloadSettings(retries=3, backoff_s=0.0, socket_timeout=2.0)
    with pytest.raises(FetchError) as caught:
        download_video(f"{base}/good.mp4", str(tmp_path), "v", settings=settings)
    assert caught.value.reason == Reason.RATE_LIMITED
    assert limit.requests == 1  # a 500 would have been asked 4 times


def test_unknown_messages_fall_back_to_download_error():
    assert classify_download_error("ERROR: something nobody has seen") == Reason.DOWNLOAD_ERROR


def test_every_site_answer_is_permanent_or_transient_once():
    answers = {
        Reason.UNAVAILABLE, Reason.PRIVATE, Reason.REMOVED, Reason.AGE_RESTRICTED,
        Reason.GEO_BLOCKED, Reason.MEMBERS_ONLY, Reason.LIVE, Reason.BOT_CHECK,
        Reason.RATE_LIMITED, Reason.DEFERRED,
    }  # fmt: skip
    assert not PERMANENT & TRANSIENT
    assert answers <= PERMANENT | TRANSIENT
    assert {r for r in answers if is_permanent(r)} == {
        Reason.UNAVAILABLE, Reason.PRIVATE, Reason.REMOVED, Reason.AGE_RESTRICTED,
        Reason.GEO_BLOCKED, Reason.MEMBERS_ONLY,
    }  # fmt: skip
    assert PUSHBACK == {Reason.BOT_CHECK, Reason.RATE_LIMITED} and PUSHBACK <= TRANSIENT
    # every code the classifier can give is in one of the two sets
    from acav_assets.core.media.ytdlp_errors import _PATTERNS

    assert {reason for reason, _ in _PATTERNS} | {Reason.DOWNLOAD_ERROR} <= PERMANENT | TRANSIENT


@pytest.mark.parametrize("live_status", ["is_live", "is_upcoming", "post_live"])
def test_a_live_stream_is_refused_before_its_download_starts(tmp_path, monkeypatch, live_status):
    # what an extractor returns for a live stream: yt-dlp's own result processing runs on it
    # (formats, the match filter, the download); were it let through, the dead URL would
    # fail as a download error instead
    canned = {
        "id": "stream",
        "title": "a stream",
        "url": "http://127.0.0.1:9/live.m3u8",
        "ext": "mp4",
        "live_status": live_status,
        "extractor": "generic",
        "extractor_key": "Generic",
        "webpage_url": "http://127.0.0.1:9/live",
    }
    monkeypatch.setattr(
        yt_dlp.YoutubeDL,
        "extract_info",
        lambda self, url, download=True: self.process_ie_result(dict(canned), download=download),
    )
    settings = DownloadSettings(retries=0, socket_timeout=1.0)
    with pytest.raises(FetchError) as caught:
        download_video("http://127.0.0.1:9/live", str(tmp_path), "v", settings=settings)
    assert caught.value.reason == Reason.LIVE and live_status in caught.value.detail
    assert not list(tmp_path.iterdir())
