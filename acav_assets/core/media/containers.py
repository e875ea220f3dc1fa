"""Which containers acav reads, and how every ffmpeg and ffprobe call opens a media file.

A media file may name other files: an HLS playlist (``.m3u8``), an ffconcat list, a DASH
manifest or an image-sequence pattern is a "video" to ffmpeg whatever its extension, and
opening it reads the files and URLs it lists: content outside the allowed roots, or on the
network. So a video is what its probed container says, and the container must be on an
allowlist of formats that hold their media themselves (mov's references to external data
are off by default in ffmpeg). Every call opens its input with a format whitelist (the
allowlist: anything else is refused before it is parsed) and a protocol whitelist (the file
itself), naming it ``file:<absolute path>`` so that a file called ``concat:a|b`` or
``http:x`` is still only a file.
"""

from __future__ import annotations

import os

# ffmpeg demuxer names: mp4/mov/m4a/3gp, matroska/webm, avi, flv, MPEG program stream,
# MPEG transport stream, ogg.
ALLOWED_CONTAINERS = ("mov", "matroska", "avi", "flv", "mpeg", "mpegts", "ogg")
# What yt-dlp may also merge a video with: a site's separate audio as a bare stream.
AUDIO_STREAMS = ("mp3", "aac", "flac", "wav")
INPUT_PROTOCOLS = "file"
NOT_ON_WHITELIST = "Format not on whitelist"


def container_allowed(format_name: str | None) -> bool:
    """Whether ffprobe's ``format_name`` (``mov,mp4,m4a,3gp,3g2,mj2``) is on the allowlist."""
    names = (format_name or "").split(",")
    return any(name in ALLOWED_CONTAINERS for name in names)


def whitelist_args(formats: tuple[str, ...] = ALLOWED_CONTAINERS) -> list[str]:
    """The input options that keep ffmpeg to local files in ``formats``."""
    return ["-protocol_whitelist", INPUT_PROTOCOLS, "-format_whitelist", ",".join(formats)]


def input_args(path: str | os.PathLike[str]) -> list[str]:
    """``-i`` and what goes before it, for one local media file."""
    return [*whitelist_args(), "-i", "file:" + os.path.abspath(os.fspath(path))]
