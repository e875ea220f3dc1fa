"""The closed set of reason codes a dropped item can carry.

A bad video, clip or embedding is data, not an exception: it becomes a row whose ``reason``
is one of these codes (free text goes in ``detail``). Every stage takes its codes from here,
so the quality model and the checks can group by them.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    # sources and access
    PATH_OUTSIDE_ROOT = "path_outside_root"
    FILE_NOT_FOUND = "file_not_found"
    # downloads
    HTTP_404 = "http_404"
    HTTP_ERROR = "http_error"
    TIMEOUT = "timeout"
    DOWNLOAD_ERROR = "download_error"
    EMPTY_FILE = "empty_file"
    NO_SUITABLE_FORMAT = "no_suitable_format"
    # probing and filters
    PROBE_ERROR = "probe_error"
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
