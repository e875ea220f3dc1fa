"""Media the tests generate with ffmpeg, and a real HTTP server on 127.0.0.1 serving it."""

from __future__ import annotations

import http.server
import os
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest

from acav_assets.core.media import IngestOptions
from acav_assets.core.media.options import DownloadSettings

SLOW_S = 2.5


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def make_video(
    path: Path,
    seconds: float,
    *,
    audio=True,
    video=True,
    size="160x120",
    source="testsrc",
    codec="h264",
) -> Path:
    inputs = []
    if video:
        inputs += ["-f", "lavfi", "-i", f"{source}=size={size}:rate=15:duration={seconds}"]
    if audio:
        inputs += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=16000:duration={seconds}"]
    if codec == "vp8":
        encode = ["-c:v", "libvpx", "-deadline", "realtime", "-b:v", "100k", "-c:a", "libopus"]
    else:
        encode = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"]
    ffmpeg(*inputs, *encode, "-movflags", "+faststart", str(path))
    return path


def make_cuts_video(path: Path, colours: list[str], seconds: float) -> Path:
    """Segments of flat colours (plus one test pattern where the colour is 'pattern')."""
    inputs, labels = [], []
    for index, colour in enumerate(colours):
        spec = (
            f"testsrc=size=160x120:rate=15:duration={seconds}"
            if colour == "pattern"
            else f"color=c={colour}:size=160x120:rate=15:duration={seconds}"
        )
        inputs += ["-f", "lavfi", "-i", spec]
        labels.append(f"[{index}:v]")
    total = seconds * len(colours)
    inputs += ["-f", "lavfi", "-i", f"sine=sample_rate=16000:duration={total}"]
    graph = "".join(labels) + f"concat=n={len(colours)}:v=1:a=0[v]"
    ffmpeg(
        *inputs,
        "-filter_complex",
        graph,
        "-map",
        "[v]",
        "-map",
        f"{len(colours)}:a",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        str(path),
    )
    return path


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("media")
    good = make_video(folder / "good.mp4", 4)
    make_video(folder / "good.webm", 4, codec="vp8")
    make_video(folder / "audio_only.mp4", 4, video=False)
    make_video(folder / "video_only.mp4", 4, audio=False)
    make_video(folder / "short.mp4", 1)
    make_video(folder / "small.mp4", 4, size="64x48")
    data = good.read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: int(len(data) * 0.6)])
    (folder / "zero.mp4").write_bytes(b"")
    (folder / "copy_of_good.mp4").write_bytes(data)
    return folder


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A test server's handler that logs nothing and shrugs off a client that hung up."""

    def log_message(self, *args) -> None:
        pass

    def handle(self) -> None:
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to answer


class _Handler(QuietHandler, http.server.SimpleHTTPRequestHandler):
    """Static files with Range support (ffmpeg seeks with it), plus fault paths:
    ``/status/<code>/...``, ``/slow/...`` (sleeps past the timeout), ``/flaky/...`` (500 once).
    """

    flaky_seen: set[str] = set()
    lock = threading.Lock()

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if match := re.match(r"^/status/(\d{3})/", self.path):
            self.send_error(int(match.group(1)))
            return
        if self.path.startswith("/slow/"):
            time.sleep(SLOW_S)
            self.path = self.path[len("/slow") :]
        if self.path.startswith("/flaky/"):
            with self.lock:
                first = self.path not in self.flaky_seen
                self.flaky_seen.add(self.path)
            if first:
                self.send_error(500)
                return
            self.path = self.path[len("/flaky") :]
        self._send_file()

    def _send_file(self) -> None:
        path = self.translate_path(self.path)
        if not os.path.isfile(path):
            self.send_error(404)
            return
        size = os.path.getsize(path)
        start, end = 0, size - 1
        ranged = re.match(r"bytes=(\d*)-(\d*)", self.headers.get("Range", ""))
        if ranged and size:
            start = int(ranged.group(1) or 0)
            end = min(int(ranged.group(2)), size - 1) if ranged.group(2) else size - 1
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        else:
            self.send_response(200)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Length", str(max(0, end - start + 1)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        with open(path, "rb") as handle:
            handle.seek(start)
            self.wfile.write(handle.read(max(0, end - start + 1)))


@pytest.fixture(scope="session")
def http_base(media_dir: Path):
    def handler(*args, **kwargs):
        return _Handler(*args, directory=str(media_dir), **kwargs)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class RateLimit:
    """What the rate-limited server does: answers ``budget`` requests (``None``: all), then
    HTTP 429 to every request; ``requests`` and ``refused`` count what it saw."""

    def __init__(self) -> None:
        self.budget: int | None = None
        self.requests = 0
        self.refused = 0
        self.lock = threading.Lock()

    def admit(self) -> bool:
        with self.lock:
            self.requests += 1
            if self.budget is None or self.requests <= self.budget:
                return True
            self.refused += 1
            return False


@pytest.fixture
def rate_limited_server(media_dir: Path):
    """``(base URL, RateLimit)``: a server on 127.0.0.1 of the test media that starts
    answering 429 Too Many Requests once its budget of requests is spent."""
    limit = RateLimit()

    class Handler(_Handler):
        def _admitted(self) -> bool:
            if limit.admit():
                return True
            self.send_response(429)
            self.send_header("Retry-After", "3600")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return False

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self._admitted():
                self._send_file()

        def do_HEAD(self) -> None:  # noqa: N802
            if self._admitted():
                super().do_HEAD()

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a, **k: Handler(*a, directory=str(media_dir), **k)
    )
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", limit
    server.shutdown()
    server.server_close()


CUTS_AT = (12.0, 24.0, 36.0)


@pytest.fixture(scope="session")
def cuts_video(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, tuple[float, ...]]:
    """48 s in four 12 s shots: red, test pattern, blue, red again; and the cut times."""
    folder = tmp_path_factory.mktemp("cuts")
    path = make_cuts_video(folder / "cuts.mp4", ["red", "pattern", "blue", "red"], 12)
    return path, CUTS_AT


@pytest.fixture
def slow_server_s() -> float:
    """How long ``/slow/`` waits before answering."""
    return SLOW_S


@pytest.fixture
def fast_options(media_dir: Path) -> IngestOptions:
    """Seconds-long media: lower the duration filter and the clip length, fail fast."""
    return IngestOptions(
        allowed_roots=(str(media_dir),),
        min_duration_s=2.0,
        clip_seconds=1.0,
        concurrent_downloads=4,
        download=DownloadSettings(retries=0, backoff_s=0.0, socket_timeout=1.0),
    )
