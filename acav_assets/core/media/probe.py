"""What a media file holds: container, duration, streams, frame rate, size, sample rate,
content hash; and whether its end still decodes.

ffprobe reads only the container headers, so probing costs milliseconds whatever the
length of the video; it also tells truncated and empty files apart from good ones. A file
whose container is not on the allowlist (``containers``) is refused before it is parsed. A
container that does not store its length (a live recording, a browser's MediaRecorder webm)
is measured from its packets' timestamps instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from acav_assets.core.media.containers import NOT_ON_WHITELIST, container_allowed, input_args
from acav_assets.core.reasons import Reason

FFPROBE = "ffprobe"
LOOK_BACK_S = 10.0  # how far before the end a tail check without a keyframe index starts
_REFUSED_FORMAT = re.compile(r"\[([\w,]+) @ [^\]]*\] " + NOT_ON_WHITELIST)


class ProbeError(ValueError):
    """The file is not a readable media file (or not one acav reads): ``reason`` is its code,
    ``detail`` what ffprobe or ffmpeg reported."""

    def __init__(self, path: str, detail: str, reason: Reason = Reason.PROBE_ERROR) -> None:
        self.path = path
        self.detail = detail
        self.reason = reason
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
    container: str | None = None  # ffprobe's format_name
    video_index: int | None = None  # the streams the facts above describe
    audio_index: int | None = None
    # where the shorter of those streams ends (s), when the container says; the tail check
    # decodes the second before it, so a track that ends early is not taken for truncation
    streams_end_s: float | None = None


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


def _ffprobe(path: str, args: list[str], timeout_s: float) -> str:
    command = [FFPROBE, "-v", "error", *args, *input_args(path)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as error:
        raise ProbeError(path, f"ffprobe took more than {timeout_s} s") from error
    if done.returncode != 0:
        if refused := _REFUSED_FORMAT.search(done.stderr):
            raise ProbeError(
                path,
                f"container {refused.group(1)!r} is not on the allowlist",
                Reason.CONTAINER_NOT_ALLOWED,
            )
        message = done.stderr.strip().splitlines()
        raise ProbeError(path, message[-1] if message else f"ffprobe exit {done.returncode}")
    return done.stdout


def _stream_end(stream: dict, file_start: float) -> float | None:
    """Where a stream ends on the timeline ``-ss`` seeks in: from the file's start, which
    is not 0 in MPEG-TS (1.4 s) or after an edit list."""
    duration = _float(stream.get("duration"))
    if duration is None:
        return None
    start = _float(stream.get("start_time"))
    return max(0.0, (start if start is not None else file_start) - file_start) + duration


def _packets_end(path: str, stream: int, timeout_s: float) -> float | None:
    """The end of a stream from its packets' timestamps (the container stores no length)."""
    entries = "packet=pts_time,duration_time"
    output = _ffprobe(
        path, ["-select_streams", str(stream), "-show_entries", entries, "-of", "csv=p=0"],
        timeout_s,
    )  # fmt: skip
    end = None
    for line in output.splitlines():
        pts, _, duration = line.partition(",")
        start = _float(pts)
        if start is not None:
            end = max(end or 0.0, start + (_float(duration) or 0.0))
    return end


def probe_video(path: str | os.PathLike[str], timeout_s: float = 30.0) -> VideoProbe:
    """Probe one file; raise ``ProbeError`` when it is empty, truncated, not media, or in a
    container that is not on the allowlist."""
    path = os.fspath(path)
    size = os.path.getsize(path)
    if size == 0:
        raise ProbeError(path, "empty file", Reason.EMPTY_FILE)
    stdout = _ffprobe(path, ["-print_format", "json", "-show_format", "-show_streams"], timeout_s)
    try:
        info = json.loads(stdout or "{}")
    except json.JSONDecodeError as error:
        raise ProbeError(path, f"ffprobe printed no JSON: {error.msg}") from error
    container = info.get("format", {}).get("format_name")
    if not container_allowed(container):
        raise ProbeError(
            path, f"container {container!r} is not on the allowlist", Reason.CONTAINER_NOT_ALLOWED
        )
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
    chosen = [s for s in (video, audio) if s is not None]
    file_start = _float(info.get("format", {}).get("start_time")) or 0.0
    ends = [e for e in (_stream_end(s, file_start) for s in chosen) if e is not None]
    duration = _float(info.get("format", {}).get("duration"))
    if duration is None:
        duration = max(ends, default=None)
    if duration is None:
        duration = max(
            (e for e in (_packets_end(path, s["index"], timeout_s) for s in chosen) if e),
            default=None,
        )
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
        container=container,
        video_index=video.get("index") if video else None,
        audio_index=audio.get("index") if audio else None,
        streams_end_s=min(ends) if len(ends) == len(chosen) else None,
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
    path: str | os.PathLike[str],
    probe: VideoProbe,
    seconds: float = 1.0,
    timeout_s: float = 30.0,
) -> None:
    """Decode the last ``seconds`` and raise ``ProbeError`` unless every stream gives frames.

    A truncated download often keeps intact headers (ffprobe is satisfied) while its last
    packets are missing: decoding the tail then gives nothing. What ffmpeg prints on the way
    is not the test: valid files make it complain too ("Referenced QT chapter track not
    found"), so its messages only explain a failure. The tail ends where the shorter stream
    ends, so audio that stops before the picture is not a fault. A container without a
    keyframe index (MPEG-TS, PS) seeks into the middle of a group of pictures, whose frames
    cannot be decoded: a stream silent in the tail is tried once more from ``LOOK_BACK_S``
    before the end, its frames before the tail decoded and dropped.
    """
    path = os.fspath(path)
    end = probe.streams_end_s or probe.duration_s
    if end is None:
        raise ProbeError(path, "no duration to find the tail by", Reason.NO_DURATION)
    streams = [i for i in (probe.video_index, probe.audio_index) if i is not None]
    for look_back in sorted({seconds, max(seconds, LOOK_BACK_S)}):
        silent, done = _silent_in_tail(path, streams, end, seconds, look_back, timeout_s)
        if done.returncode == 0 and not silent:
            return
        if look_back >= end:
            break
    said = [line for line in done.stderr.splitlines() if line.strip()]
    what = f"stream {', '.join(silent)} gave no frames" if silent else "ffmpeg failed"
    raise ProbeError(
        path,
        f"truncated or corrupt: {what} in the last {seconds} s"
        + (f" ({said[-1][:300]})" if said else ""),
        Reason.TRUNCATED,
    )


def _silent_in_tail(
    path: str, streams: list[int], end: float, seconds: float, look_back: float, timeout_s: float
) -> tuple[list[str], subprocess.CompletedProcess]:
    """The streams (output numbers) that give no frame in ``[end - seconds, end)`` when
    decoding starts ``look_back`` before the end."""
    begin = max(0.0, end - look_back)
    maps = [arg for index in streams for arg in ("-map", f"0:{index}")]
    command = [
        "ffmpeg", "-nostdin", "-v", "error", "-noaccurate_seek",
        "-ss", f"{begin:.3f}", *input_args(path), *maps,
        "-ss", f"{max(0.0, end - seconds - begin):.3f}",
        "-c:v", "wrapped_avframe", "-c:a", "pcm_s16le", "-f", "framecrc", "pipe:1",
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as error:
        raise ProbeError(path, f"decoding the tail took more than {timeout_s} s") from error
    decoded = {line.split(",", 1)[0] for line in done.stdout.splitlines() if line[:1].isdigit()}
    return [str(i) for i, _ in enumerate(streams) if str(i) not in decoded], done
