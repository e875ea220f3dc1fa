"""What a media file holds: duration, streams, frame rate, size, sample rate, content hash.

ffprobe reads only the container headers, so probing costs milliseconds whatever the
length of the video; it also tells truncated and empty files apart from good ones.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

FFPROBE = "ffprobe"


class ProbeError(ValueError):
    """The file is not a readable media file; ``detail`` says what ffprobe reported."""

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(f"cannot probe {path!r}: {detail}")


@dataclass(frozen=True)
class VideoProbe:
    """The facts the filters and clip windows need, from one ffprobe call."""

    duration_s: float | None
    has_video: bool
    has_audio: bool
    width: int | None
    height: int | None
    fps: float | None
    audio_rate: int | None
    bytes: int
    video_codec: str | None = None
    audio_codec: str | None = None


def _rate(text: str | None) -> float | None:
    if not text or text in ("0/0", "0"):
        return None
    try:
        value = float(Fraction(text))
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None


def _float(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if number == number and number >= 0 else None  # drops NaN


def probe_video(path: str | os.PathLike[str], timeout_s: float = 30.0) -> VideoProbe:
    """Probe one file; raise ``ProbeError`` when it is empty, truncated or not media."""
    path = os.fspath(path)
    size = os.path.getsize(path)
    if size == 0:
        raise ProbeError(path, "empty file")
    command = [FFPROBE, "-v", "error", "-print_format", "json", "-show_format", "-show_streams"]
    try:
        done = subprocess.run(
            [*command, path], capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired as error:
        raise ProbeError(path, f"ffprobe took more than {timeout_s} s") from error
    if done.returncode != 0:
        message = done.stderr.strip().splitlines()
        raise ProbeError(path, message[-1] if message else f"ffprobe exit {done.returncode}")
    info = json.loads(done.stdout or "{}")
    streams = info.get("streams", [])
    video = next(
        (
            s
            for s in streams
            if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")
        ),
        None,
    )
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    if video is None and audio is None:
        raise ProbeError(path, "no audio or video stream")
    duration = _float(info.get("format", {}).get("duration"))
    if duration is None:
        durations = [_float(s.get("duration")) for s in (video, audio) if s is not None]
        duration = max((d for d in durations if d is not None), default=None)
    return VideoProbe(
        duration_s=duration,
        has_video=video is not None,
        has_audio=audio is not None,
        width=int(video["width"]) if video and video.get("width") else None,
        height=int(video["height"]) if video and video.get("height") else None,
        fps=_rate(video.get("avg_frame_rate")) or _rate(video.get("r_frame_rate"))
        if video
        else None,
        audio_rate=int(audio["sample_rate"]) if audio and audio.get("sample_rate") else None,
        bytes=size,
        video_codec=video.get("codec_name") if video else None,
        audio_codec=audio.get("codec_name") if audio else None,
    )


def file_sha256(paths: Iterable[str | os.PathLike[str]], chunk: int = 1 << 20) -> str:
    """The sha256 of the files' bytes in order: one file, or a video's downloaded sections."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            while block := handle.read(chunk):
                digest.update(block)
    return digest.hexdigest()


def verify_tail(
    path: str | os.PathLike[str], seconds: float = 1.0, timeout_s: float = 30.0
) -> None:
    """Decode the last ``seconds`` and raise ``ProbeError`` if that fails.

    A truncated download often keeps intact headers (ffprobe is satisfied) while its last
    packets are missing; decoding the tail catches it in tens of milliseconds.
    """
    path = os.fspath(path)
    command = ["ffmpeg", "-nostdin", "-v", "error", "-sseof", f"-{seconds}", "-i", path]
    try:
        done = subprocess.run(
            [*command, "-f", "null", "-"], capture_output=True, text=True, timeout=timeout_s
        )
    except subprocess.TimeoutExpired as error:
        raise ProbeError(path, f"decoding the tail took more than {timeout_s} s") from error
    errors = [line for line in done.stderr.splitlines() if "repeated" not in line]
    if done.returncode != 0 or errors:
        raise ProbeError(
            path, "truncated or corrupt: " + (errors[0] if errors else "ffmpeg failed")
        )
