"""Hostile input against a real loopback HTTP server and files the tests make: each class of
attack ends as a clear error or a failure row with its reason, and the good video beside it
still ends ok. (Manifest parsers: test_media_manifest_fuzz.py; catalog queries:
test_catalog.py; exports: test_export.py; weights: test_weights.py; `acav select`:
test_select_command.py; the secrets of the environment: test_snapshot_secrets.py.)"""

from __future__ import annotations

import http.server
import logging
import os
import re
import subprocess
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from media_fixtures import QuietHandler

from acav_assets.core.catalog.tables import TableStore
from acav_assets.core.media import IngestOptions, ingest_shard, reach, register_manifest
from acav_assets.core.media.options import DownloadSettings
from acav_assets.core.media.sources import register_manifests
from acav_assets.core.storage import StorageRoot

pytestmark = pytest.mark.slow_io
SECRET = "s3cr3t-Z9q"


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True)


def _video(path: Path, seconds: float = 4.0) -> Path:
    _ffmpeg(
        "-f", "lavfi", "-i", f"testsrc=size=160x120:rate=15:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=16000:duration={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
        "-movflags", "+faststart", str(path),
    )  # fmt: skip
    return path


class Server:
    """A loopback HTTP server over one folder: ``/f/<name>`` (ranges), ``/r?to=<url>``
    (302), ``/trickle/<name>`` (1 KB every 0.5 s), ``/status/<code>/<name>``; it counts every
    request by path."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.requests: Counter[str] = Counter()
        server = self

        class Handler(QuietHandler):
            def do_HEAD(self) -> None:  # noqa: N802
                self.do_GET(body=False)

            def do_GET(self, body: bool = True) -> None:  # noqa: N802
                parsed = urllib.parse.urlsplit(self.path)
                server.requests[parsed.path] += 1
                if parsed.path == "/r":
                    self.send_response(302)
                    self.send_header("Location", urllib.parse.parse_qs(parsed.query)["to"][0])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if match := re.match(r"^/status/(\d{3})/", parsed.path):
                    self.send_error(int(match.group(1)))
                    return
                name = parsed.path.rsplit("/", 1)[-1]
                path = server.folder / name
                if not path.is_file():
                    self.send_error(404)
                    return
                data = path.read_bytes()
                start, end = 0, len(data) - 1
                ranged = re.match(r"bytes=(\d*)-(\d*)", self.headers.get("Range", ""))
                if ranged:
                    start = int(ranged.group(1) or 0)
                    end = min(int(ranged.group(2)), end) if ranged.group(2) else end
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
                else:
                    self.send_response(200)
                kind = "application/vnd.apple.mpegurl" if name.endswith(".m3u8") else "video/mp4"
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(end - start + 1))
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                if not body:
                    return
                if parsed.path.startswith("/trickle/"):
                    for offset in range(start, end + 1, 1024):
                        self.wfile.write(data[offset : min(offset + 1024, end + 1)])
                        self.wfile.flush()
                        time.sleep(0.5)
                    return
                self.wfile.write(data[start : end + 1])

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, name: str, kind: str = "f") -> str:
        return f"{self.base}/{kind}/{name}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """The media the servers hold, and a root of local files (``root/``) beside ``outside/``."""
    folder = tmp_path_factory.mktemp("hostile")
    good = _video(folder / "good.mp4")
    data = good.read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 2])
    _video(folder / "big.mp4", seconds=20)
    outside = folder / "outside"
    outside.mkdir()
    secret = _video(outside / "secret.mp4", seconds=6)
    _ffmpeg(
        "-i", str(secret), "-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-c:a", "aac",
        "-f", "hls", "-hls_time", "2", "-hls_list_size", "0", str(outside / "secret.m3u8"),
    )  # fmt: skip
    return folder


@pytest.fixture(scope="module")
def servers(files: Path):
    public, private = Server(files), Server(files)
    yield public, private
    public.close()
    private.close()


def _playlist(segments: list[str]) -> str:
    body = "".join(f"#EXTINF:2.0,\n{segment}\n" for segment in segments)
    return f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n{body}#EXT-X-ENDLIST\n"


def _options(root: Path | None = None, **download) -> IngestOptions:
    return IngestOptions(
        allowed_roots=(str(root),) if root else (),
        min_duration_s=2.0,
        clip_seconds=1.0,
        clip_strategy="middle",
        download=DownloadSettings(retries=0, backoff_s=0.0, socket_timeout=3.0, **download),
    )


def _ingest(storage: StorageRoot, tmp_path: Path, lines: list[str], options: IngestOptions):
    tables = TableStore(storage)
    manifest = tmp_path / "manifest.txt"
    manifest.write_text("\n".join(lines) + "\n")
    (shard,) = register_manifest(manifest, tables)
    ingest_shard(storage, tables, shard, options, run_id="r1", code_version="t")
    videos = tables.read("videos", [shard]).to_dicts()
    by_line = {next(line for line in lines if _matches(line, row)): row for row in videos}
    assert len(by_line) == len(lines), videos
    return shard, by_line, tables.read("clips", [shard])


def _matches(line: str, row: dict) -> bool:
    from acav_assets.core.media.manifest import video_id_for

    if "://" in line:
        return row["video_id"] == video_id_for(url=line, youtube_id=None, path=None)
    return row["video_id"] == video_id_for(url=None, youtube_id=None, path=os.path.abspath(line))


def _outcomes(rows: dict) -> dict:
    return {line: (row["status"], row["reason"]) for line, row in rows.items()}


# --- 1. media that names other files -------------------------------------------------------


def test_playlists_in_an_allowed_root_are_refused_and_the_good_video_beside_them_is_ok(
    storage, tmp_path, files, servers
):
    public, private = servers
    root = tmp_path / "videos"
    root.mkdir()
    good = root / "good.mp4"
    good.write_bytes((files / "good.mp4").read_bytes())
    outside = files / "outside"
    local_hls = root / "holiday.mp4"  # an HLS playlist, whatever its name says
    local_hls.write_text(_playlist([str(outside / f"secret{i}.ts") for i in range(3)]))
    net_hls = root / "lecture.mkv"
    net_hls.write_text(_playlist([private.url(f"secret{i}.ts") for i in range(3)]))
    concat = root / "clip.webm"
    concat.write_text(f"ffconcat version 1.0\nfile '{outside / 'secret.mp4'}'\n")
    lines = [str(p) for p in (good, local_hls, net_hls, concat)]
    before = sum(private.requests.values())

    _, rows, clips = _ingest(storage, tmp_path, lines, _options(root))

    assert _outcomes(rows) == {
        str(good): ("ok", None),
        str(local_hls): ("failed", "container_not_allowed"),
        str(net_hls): ("failed", "container_not_allowed"),
        str(concat): ("failed", "container_not_allowed"),
    }
    assert "'hls'" in rows[str(local_hls)]["detail"] and "'concat'" in rows[str(concat)]["detail"]
    assert sum(private.requests.values()) == before  # nothing was fetched from the network
    assert set(clips["video_id"]) == {rows[str(good)]["video_id"]}
    assert os.path.exists(local_hls) and os.path.exists(concat)  # the operator's files stay


def test_downloaded_playlists_whose_segments_are_files_are_refused(
    storage, tmp_path, files, servers
):
    public, _ = servers
    (files / "local.m3u8").write_text(_playlist(["file:///etc/passwd", "file:///etc/hostname"]))
    (files / "disguised.mp4").write_text(
        _playlist([str(files / "outside" / f"secret{i}.ts") for i in range(3)])
    )
    lines = [public.url("good.mp4"), public.url("local.m3u8"), public.url("disguised.mp4")]

    shard, rows, _ = _ingest(storage, tmp_path, lines, _options())

    outcome = _outcomes(rows)
    assert outcome[lines[0]] == ("ok", None)
    assert outcome[lines[1]] == ("failed", "url_refused")  # yt-dlp never asks for file://
    assert outcome[lines[2]] == ("failed", "container_not_allowed")  # a playlist, not a video
    media = os.listdir(storage.path("media", shard))
    assert len(media) == 1  # the refused download was deleted


# --- 3. one video never fails its shard ----------------------------------------------------


def test_a_redirect_to_a_file_url_is_refused(storage, tmp_path, servers):
    public, _ = servers
    lines = [public.url("good.mp4"), f"{public.base}/r?to=file:///etc/passwd"]
    _, rows, _ = _ingest(storage, tmp_path, lines, _options())
    assert _outcomes(rows) == {lines[0]: ("ok", None), lines[1]: ("failed", "url_refused")}


def test_an_unexpected_exception_is_that_videos_internal_error_and_the_shard_completes(
    storage, tmp_path, files, servers, monkeypatch, caplog
):
    from acav_assets.core.media import inspection, windows

    public, _ = servers
    for name in ("cursed.mp4", "jinxed.mp4"):
        (files / name).write_bytes((files / "good.mp4").read_bytes() + name.encode())
    real_hash, real_middle = inspection.file_sha256, windows.middle_windows

    def hash_unless_cursed(paths):
        if any(Path(p).read_bytes().endswith(b"cursed.mp4") for p in paths):
            raise MemoryError("the hash of a cursed file")
        return real_hash(paths)

    def middle_unless_jinxed(duration, seconds):
        if duration and abs(duration - 4.0) < 0.2 and _jinxed[0]:
            _jinxed[0] = False
            raise KeyError("no window for a jinxed file")
        return real_middle(duration, seconds)

    _jinxed = [True]
    monkeypatch.setattr(inspection, "file_sha256", hash_unless_cursed)
    monkeypatch.setattr(windows, "middle_windows", middle_unless_jinxed)
    lines = [public.url("cursed.mp4"), public.url("jinxed.mp4"), public.url("good.mp4")]
    with caplog.at_level(logging.ERROR, logger="acav_assets.core.media.ingest"):
        _, rows, clips = _ingest(storage, tmp_path, lines, _options())
    outcome = _outcomes(rows)
    assert outcome[lines[0]] == ("failed", "internal_error")
    assert rows[lines[0]]["detail"].startswith("inspect_video: MemoryError")
    failed_windows = [line for line in lines[1:] if outcome[line] == ("failed", "internal_error")]
    assert len(failed_windows) == 1  # one of the two identical videos hit the jinx
    assert rows[failed_windows[0]]["detail"].startswith("choose_windows: KeyError")
    assert sum(status == "ok" for status, _ in outcome.values()) == 1
    assert len(clips) == 1
    assert "Traceback" in caplog.text and "MemoryError" in caplog.text


def test_a_recorded_webm_without_a_duration_is_measured_from_its_packets(storage, tmp_path):
    root = tmp_path / "videos"
    root.mkdir()
    live = root / "recorded.webm"
    done = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
         "testsrc=size=160x120:rate=15:duration=5", "-f", "lavfi", "-i", "sine=duration=5",
         "-c:v", "libvpx", "-deadline", "realtime", "-c:a", "libopus", "-f", "webm", "pipe:1"],
        capture_output=True, check=True,
    )  # fmt: skip
    live.write_bytes(done.stdout)  # written to a pipe: no duration, no cues
    _, rows, clips = _ingest(storage, tmp_path, [str(live)], _options(root))
    (row,) = rows.values()
    assert (row["status"], row["reason"]) == ("ok", None)
    assert row["duration_s"] == pytest.approx(5.0, abs=0.2) and len(clips) == 1


# --- 7. bounded downloads ------------------------------------------------------------------


def test_downloads_stop_at_their_size_and_time_limits_and_leave_no_partial_file(
    storage, tmp_path, files, servers
):
    public, _ = servers
    lines = [public.url("good.mp4"), public.url("big.mp4"), public.url("good.mp4", "trickle")]
    size = (files / "good.mp4").stat().st_size
    options = _options(max_bytes=size * 2, max_seconds=8.0)  # slack for a loaded machine
    shard, rows, _ = _ingest(storage, tmp_path, lines, options)
    assert _outcomes(rows) == {
        lines[0]: ("ok", None),
        lines[1]: ("failed", "too_large"),
        lines[2]: ("failed", "time_limit"),
    }
    assert os.listdir(storage.path("media", shard)) == [os.path.basename(rows[lines[0]]["path"])]


def test_a_download_that_fails_the_tail_check_is_deleted_and_fetched_again(
    storage, tmp_path, servers
):
    public, _ = servers
    lines = [public.url("good.mp4"), public.url("truncated.mp4")]
    tables = TableStore(storage)
    manifest = tmp_path / "m.txt"
    manifest.write_text("\n".join(lines) + "\n")
    (shard,) = register_manifest(manifest, tables)
    asked = []
    for run in ("r1", "r2"):
        before = public.requests["/f/truncated.mp4"]
        ingest_shard(storage, tables, shard, _options(), run_id=run, code_version="t")
        asked.append(public.requests["/f/truncated.mp4"] - before)
        rows = tables.read("videos", [shard]).sort("reason", nulls_last=True).to_dicts()
        assert [(r["status"], r["reason"]) for r in rows] == [("failed", "truncated"), ("ok", None)]
        assert rows[0]["path"] is None and len(os.listdir(storage.path("media", shard))) == 1
    assert asked[0] >= 1 and asked[1] >= 1  # not reused: fetched again


# --- 14. network reach ---------------------------------------------------------------------


@pytest.fixture
def public_only(servers, monkeypatch):
    """Reach refused for private addresses, with the public server counted as public."""
    public, _ = servers
    real = reach._not_global

    def not_global(host, port):
        return None if port == public.port else real(host, port)

    monkeypatch.setattr(reach, "_not_global", not_global)
    return servers


def test_private_addresses_are_refused_in_urls_redirects_segments_and_sections(
    storage, tmp_path, files, public_only
):
    public, private = public_only
    (files / "mixed.m3u8").write_text(
        _playlist([public.url("secret0.ts"), private.url("secret1.ts")])
    )
    for i in range(3):
        (files / f"secret{i}.ts").write_bytes((files / "outside" / f"secret{i}.ts").read_bytes())
    lines = [
        public.url("good.mp4"),
        private.url("good.mp4"),
        f"{public.base}/r?to={urllib.parse.quote(private.url('good.mp4'))}",
        public.url("mixed.m3u8"),
        "http://169.254.169.254/latest/meta-data/iam.mp4",
        "http://[::1]:9/v.mp4",
    ]
    before = sum(private.requests.values())
    options = _options(refuse_private_addresses=True)
    _, rows, _ = _ingest(storage, tmp_path, lines, options)
    outcome = _outcomes(rows)
    assert outcome[lines[0]] == ("ok", None)
    assert {outcome[line] for line in lines[1:]} == {("failed", "private_address")}
    assert sum(private.requests.values()) == before  # not one request reached it

    sections = tmp_path / "sections.csv"
    sections.write_text(f"url,start,end\n{private.url('good.mp4')},0,2\n")
    tables = TableStore(storage)
    (shard,) = register_manifest(sections, tables)
    ingest_shard(storage, tables, shard, options, run_id="r2", code_version="t")
    (row,) = tables.read("videos", [shard]).to_dicts()
    assert (row["status"], row["reason"]) == ("failed", "private_address")
    assert sum(private.requests.values()) == before


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/v.mp4", "http://127.1/v.mp4", "http://2130706433/v.mp4",
     "http://10.1.2.3/v.mp4", "http://192.168.0.9/v.mp4", "http://169.254.169.254/v.mp4",
     "http://[::1]/v.mp4", "http://[::ffff:127.0.0.1]/v.mp4", "http://[fe80::1]/v.mp4",
     "http://100.64.0.1/v.mp4", "http://0.0.0.0/v.mp4", "http://localhost/v.mp4"],
)  # fmt: skip
def test_reach_refuses_every_spelling_of_a_non_global_address(url):
    from acav_assets.core.media.ytdlp_errors import DownloadStopped

    with pytest.raises(DownloadStopped) as refused:
        reach.check_url(url, refuse_private=True)
    assert refused.value.reason == "private_address"
    reach.check_url(url, refuse_private=False)  # local work: allowed


def test_reach_allows_global_addresses_and_refuses_other_schemes():
    from acav_assets.core.media.ytdlp_errors import DownloadStopped

    reach.check_url("https://93.184.215.14/v.mp4", refuse_private=True)
    for url in ("file:///etc/passwd", "ftp://h/v.mp4", "data:text/plain,x", "gopher://h/"):
        with pytest.raises(DownloadStopped, match="url_refused"):
            reach.check_url(url, refuse_private=False)


# --- 2. secrets in rows and logs -----------------------------------------------------------


def test_credentials_and_signatures_in_urls_never_reach_rows_or_logs(
    storage, tmp_path, servers, caplog
):
    public, _ = servers
    signed = (
        f"http://alice:{SECRET}@127.0.0.1:{public.port}/status/403/v.mp4"
        f"?X-Amz-Signature={SECRET}&X-Amz-Credential={SECRET}&token={SECRET}&id=7"
    )
    lines = [public.url("good.mp4"), signed]
    with caplog.at_level(logging.DEBUG):
        _, rows, _ = _ingest(storage, tmp_path, lines, _options())
    row = rows[signed]
    assert (row["status"], row["reason"]) == ("failed", "http_error")
    assert SECRET not in (row["url"] + (row["detail"] or ""))
    assert "id=7" in row["url"] and "127.0.0.1" in row["url"]
    assert SECRET not in caplog.text


# --- 8. concurrent runs of one shard -------------------------------------------------------


def test_two_runs_of_one_shard_at_once_leave_one_complete_runs_tables(storage, tmp_path, servers):
    public, _ = servers
    tables = TableStore(storage)
    manifest = tmp_path / "m.txt"
    manifest.write_text(f"{public.url('good.mp4')}\n{public.url('truncated.mp4')}\n")
    (shard,) = register_manifest(manifest, tables)
    errors = []

    def run(run_id: str) -> None:
        try:
            ingest_shard(storage, tables, shard, _options(), run_id=run_id, code_version="t")
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(f"run{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    videos, clips = tables.read("videos", [shard]), tables.read("clips", [shard])
    assert videos.height == 2 and clips.height == 1
    assert set(videos["run_id"]) == set(clips["run_id"]) and len(set(videos["run_id"])) == 1
    assert len(os.listdir(storage.path("media", shard))) == 1  # no second copy, no .part


# --- 4. manifests dropped into sources/ ----------------------------------------------------


def test_bad_manifests_are_refused_with_their_reason_and_the_good_one_registers(tmp_path):
    root = StorageRoot(str(tmp_path / "home"))
    sources = Path(root.path("sources"))
    sources.mkdir(parents=True)
    (sources / "README.txt").write_text("How to use acav\n\nRun the demo.\nThen curate.\n")
    (sources / "photo.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (sources / "huge.csv").write_text('url\n"' + "x" * 200_000 + '"\n')
    (sources / "deep.jsonl").write_text('{"url": ' + "[" * 50_000 + "]" * 50_000 + "}\n")
    (sources / "good.txt").write_text("http://example.com/a.mp4\n")
    paths = sorted(str(p) for p in sources.iterdir())
    registered = {os.path.basename(r.manifest): r for r in
                  register_manifests(paths, TableStore(root), 1000)}  # fmt: skip
    assert registered["good.txt"].error is None and len(registered["good.txt"].shards) == 1
    problems = {name: r.error for name, r in registered.items() if r.error}
    assert sorted(problems) == ["README.txt", "deep.jsonl", "huge.csv", "photo.csv"]
    assert "line 1: not a list of videos" in problems["README.txt"]
    assert "line 1: not UTF-8 text" in problems["photo.csv"]
    assert "line 2: not valid CSV: field larger than field limit" in problems["huge.csv"]
    assert "line 1: JSON that Python refuses" in problems["deep.jsonl"]


def test_a_run_config_proxy_with_credentials_is_refused(tmp_path):
    import dagster as dg

    from acav_assets.defs.media.assets import IngestConfig, checked_ingest_options
    from acav_assets.defs.resources import AcavHome

    config = IngestConfig(download={"proxy": f"http://bob:{SECRET}@proxy:3128"})
    with pytest.raises(dg.Failure, match="ACAV_PROXY_URL"):
        checked_ingest_options(config, AcavHome(root=str(tmp_path)))
    acav = AcavHome(root=str(tmp_path), proxy_url=f"http://bob:{SECRET}@proxy:3128")
    assert checked_ingest_options(IngestConfig(), acav).download.proxy == acav.proxy_url


def test_the_deployments_network_reach_cannot_be_loosened_by_a_run_config(tmp_path):
    from acav_assets.defs.media.assets import IngestConfig, checked_ingest_options
    from acav_assets.defs.resources import AcavHome

    loose = IngestConfig(download={"refuse_private_addresses": False})
    cluster = AcavHome(root=str(tmp_path), refuse_private_addresses="true")
    assert checked_ingest_options(loose, cluster).download.refuse_private_addresses
    local = AcavHome(root=str(tmp_path))
    assert not checked_ingest_options(loose, local).download.refuse_private_addresses
    with pytest.raises(ValueError, match="ACAV_REFUSE_PRIVATE_ADDRESSES"):
        checked_ingest_options(loose, AcavHome(root=str(tmp_path), refuse_private_addresses="on"))
    values = Path(__file__).parents[3] / "deployments" / "helm" / "values.yaml"
    assert 'name: ACAV_REFUSE_PRIVATE_ADDRESSES\n          value: "true"' in values.read_text()


def test_the_options_refuse_nonsense_limits():
    bad = replace(_options(), download=DownloadSettings(max_bytes=0, max_seconds=-1.0))
    with pytest.raises(ValueError, match="max_bytes=0.*max_seconds=-1.0"):
        bad.validate()
