"""Seconds-long test media made with ffmpeg's lavfi sources, once per session."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

SOURCES = {
    # name: (video source or None, audio source or None)
    "tone": ("testsrc2=size=320x240:rate=25", "sine=frequency=440:sample_rate=44100"),
    "noise": ("mandelbrot=size=320x240:rate=25", "anoisesrc=color=pink:amplitude=0.4:r=44100"),
    "silent_black": ("color=black:size=320x240:rate=25", "anullsrc=r=44100:cl=mono"),
    "frozen": ("smptebars=size=320x240:rate=25", "sine=frequency=200:sample_rate=44100"),
    "no_audio": ("testsrc2=size=320x240:rate=25", None),
}
SECONDS = 3


def _make(path: Path, video: str | None, audio: str | None) -> None:
    command = ["ffmpeg", "-v", "error", "-y"]
    for source in (video, audio):
        if source:
            command += ["-f", "lavfi", "-t", str(SECONDS), "-i", source]
    if video:
        command += ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "25"]
    if audio:
        command += ["-c:a", "aac"]
    subprocess.run([*command, str(path)], check=True)


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """name -> path of a 3 s mp4; also ``garbage`` (not a video) and ``missing``."""
    folder = tmp_path_factory.mktemp("media")
    paths = {}
    for name, (video, audio) in SOURCES.items():
        path = folder / f"{name}.mp4"
        _make(path, video, audio)
        paths[name] = str(path)
    garbage = folder / "garbage.mp4"
    garbage.write_bytes(b"this is not a video" * 100)
    paths["garbage"] = str(garbage)
    paths["missing"] = str(folder / "missing.mp4")
    return paths
