"""Thumbnails and short audio snippets of clips, for the report's top and bottom clips.

ffmpeg seeks into the clip window, takes one JPEG frame from its middle and a few seconds of
mono MP3, both returned as bytes so the report can embed them as data URIs. A clip that
cannot be decoded gives a preview without media and a logged warning, not an exception.
"""

from __future__ import annotations

import logging
import os
import subprocess
from dataclasses import dataclass

from acav_assets.core.media.containers import input_args

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClipPreview:
    """One clip as the report shows it: a label, a caption, a frame and a sound snippet."""

    label: str
    caption: str = ""
    image_jpeg: bytes | None = None
    audio: bytes | None = None
    audio_mime: str = "audio/mpeg"


def _ffmpeg_bytes(args: list[str]) -> bytes | None:
    cmd = ["ffmpeg", "-nostdin", "-v", "error", *args, "pipe:1"]
    result = subprocess.run(cmd, capture_output=True, check=False, timeout=60)
    if result.returncode != 0 or not result.stdout:
        logger.warning("preview failed: %s", result.stderr.decode(errors="replace")[-300:])
        return None
    return result.stdout


def extract_preview(
    path: str | os.PathLike[str],
    start_s: float,
    end_s: float,
    *,
    label: str,
    caption: str = "",
    snippet_seconds: float = 4.0,
    width: int = 240,
) -> ClipPreview:
    """A JPEG frame from the middle of ``[start_s, end_s]`` and up to ``snippet_seconds`` of
    MP3 audio from its start."""
    if not end_s > start_s >= 0:
        raise ValueError(f"need 0 <= start_s={start_s} < end_s={end_s}")
    if snippet_seconds <= 0 or width < 16:
        raise ValueError(f"snippet_seconds={snippet_seconds} > 0 and width={width} >= 16 needed")
    src = os.fspath(path)
    middle = (start_s + end_s) / 2
    image = _ffmpeg_bytes(
        [
            "-ss",
            f"{middle:.3f}",
            *input_args(src),
            "-frames:v",
            "1",
            "-vf",
            f"scale={width}:-2",
            "-q:v",
            "4",
            "-f",
            "mjpeg",
        ]
    )
    audio = _ffmpeg_bytes(
        [
            "-ss",
            f"{start_s:.3f}",
            "-t",
            f"{min(snippet_seconds, end_s - start_s):.3f}",
            *input_args(src),
            "-vn",
            "-ac",
            "1",
            "-ar",
            "22050",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "48k",
            "-f",
            "mp3",
        ]
    )
    return ClipPreview(label=label, caption=caption, image_jpeg=image, audio=audio)
