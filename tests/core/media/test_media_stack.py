"""The download stack as yt-dlp sees it with acav's parameters, and the doctor's facts."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import time

import yt_dlp
from yt_dlp.extractor.youtube.jsc._director import initialize_jsc_director

from acav_assets.core.media.fetch import ytdlp_params
from acav_assets.core.media.options import DownloadSettings
from acav_assets.core.media.sites import SiteOptions
from acav_assets.core.media.stack import check_download_stack, packaged_deno
from acav_assets.core.storage import StorageRoot

VIDEO = "https://www.youtube.com/watch?v=aaaaaaaaaaa"
DENO_VERSION = importlib.metadata.version("deno")
EJS_VERSION = importlib.metadata.version("yt-dlp-ejs")


class _Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def debug(self, message: str) -> None:
        self.lines.append(message)

    info = warning = error = debug


def test_the_deno_binary_of_the_package_runs_here():
    path = packaged_deno()
    assert path is not None and os.access(path, os.X_OK)
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith(f"deno {DENO_VERSION} ")
    # it runs JavaScript, offline, with the flags yt-dlp gives it
    run = [path, "run", "--no-remote", "--no-prompt", "--no-config", "--ext=js", "-"]
    out = subprocess.run(run, input="console.log(6 * 7)", capture_output=True, text=True)
    assert (out.returncode, out.stdout.strip()) == (0, "42")


def test_yt_dlp_with_acav_parameters_reports_deno_and_the_ejs_scripts(tmp_path, monkeypatch):
    # no deno on PATH to be found by luck (ffmpeg stays: yt-dlp caches its lookups)
    folders = os.environ.get("PATH", "").split(os.pathsep)
    no_deno = [f for f in folders if not os.path.exists(os.path.join(f, "deno"))]
    monkeypatch.setenv("PATH", os.pathsep.join(no_deno))
    params = ytdlp_params(str(tmp_path), "v", DownloadSettings(), url=VIDEO, sectioned=False)
    assert params["js_runtimes"] == {"deno": {"path": packaged_deno()}}
    logger = _Lines()
    with yt_dlp.YoutubeDL({**params, "verbose": True, "logger": logger}) as ydl:
        ydl.print_debug_header()
        runtimes = [line for line in logger.lines if "JS runtimes:" in line]
        assert set(runtimes) == {f"[debug] JS runtimes: deno-{DENO_VERSION}"}
        director = initialize_jsc_director(ydl.get_info_extractor("Youtube"))
        deno = director.providers["Deno"]
        assert deno.is_available()
        assert deno.runtime_info.path == packaged_deno()
        for script in (deno._lib_script, deno._core_script):
            assert (script.version, script.source.value) == (EJS_VERSION, "python package")


def test_doctor_finds_the_whole_stack_here(tmp_path):
    report = check_download_stack(storage=StorageRoot(str(tmp_path / "root")))
    facts = report.as_dict()
    assert report.ok, report.problems
    assert facts["yt_dlp"] == yt_dlp.version.__version__
    assert facts["js_runtime"].startswith(f"deno {DENO_VERSION} ")
    assert facts["ejs_scripts"] == (
        f"lib {EJS_VERSION} (python package), core {EJS_VERSION} (python package)"
    )
    assert facts["challenge_solver"] == "runs in deno"
    assert facts["ffmpeg"] and facts["ffprobe"] and not facts["ffmpeg"].startswith("!")
    assert facts["storage_root"].endswith("(writable)")
    assert not list((tmp_path / "root").iterdir())  # its probe file is gone


def test_doctor_says_degraded_without_a_usable_runtime(tmp_path):
    report = check_download_stack(youtube=SiteOptions(js_runtime_path=str(tmp_path / "no-deno")))
    assert not report.ok
    names = [problem.split(":")[0] for problem in report.problems]
    assert names == ["js_runtime", "ejs_scripts", "challenge_solver"]


def test_doctor_reports_another_runtime_it_was_given(tmp_path):
    # Deno under a runtime name yt-dlp does not pair with it: no usable 'node' at that path
    report = check_download_stack(
        youtube=SiteOptions(js_runtime="node", js_runtime_path=packaged_deno())
    )
    assert not report.ok and report.problems[0].startswith("js_runtime:")


def _cookies(path, rows: list[tuple[str, str, int]]):
    lines = ["# Netscape HTTP Cookie File"]
    for domain, name, expires in rows:
        lines.append(f"{domain}\tTRUE\t/\tTRUE\t{expires}\t{name}\tsecret-{name}-value")
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_doctor_checks_the_cookies_file_without_showing_it(tmp_path):
    now = time.time()
    fresh = _cookies(
        tmp_path / "fresh.txt",
        [(".youtube.com", "SID", int(now + 86400 * 30)), (".example.org", "a", int(now - 10))],
    )
    stale = _cookies(tmp_path / "stale.txt", [(".youtube.com", "SID", int(now - 86400))])
    (tmp_path / "junk.txt").write_bytes(b"\x00\x01 not cookies")
    facts = {
        name: check_download_stack(cookies_file=path, now=now).as_dict()["cookies"]
        for name, path in (
            ("fresh", fresh),
            ("stale", stale),
            ("junk", str(tmp_path / "junk.txt")),
            ("missing", str(tmp_path / "absent.txt")),
        )
    }
    assert facts["fresh"].startswith("2 cookies, 1 expired, youtube.com until ")
    assert facts["stale"].startswith("! 1 cookies, 1 expired") and "expired" in facts["stale"]
    assert facts["junk"].startswith("! unreadable") and facts["missing"].startswith("! unreadable")
    assert not any("secret" in value for value in facts.values())


def test_doctor_shows_a_proxy_without_its_credentials():
    report = check_download_stack(proxy="http://alice:s3cr3t@proxy.internal:3128")
    assert report.as_dict()["proxy"] == "set (http://proxy.internal:3128)"
    assert "s3cr3t" not in repr(report) and "alice" not in repr(report)
    assert check_download_stack().as_dict()["proxy"] == "not set"


def test_doctor_finds_a_storage_root_it_cannot_write(tmp_path):
    root = StorageRoot(str(tmp_path / "root"))
    os.rmdir(tmp_path / "root")
    (tmp_path / "root").write_text("a file where the root should be")
    report = check_download_stack(storage=root)
    assert report.problems == ["storage_root: not writable: NotADirectoryError"]


def test_site_settings_choose_the_runtime_yt_dlp_is_given():
    node = SiteOptions(js_runtime="node", js_runtime_path="/opt/node/bin/node")
    assert node.ytdlp_params(packaged_deno())["js_runtimes"] == {
        "node": {"path": "/opt/node/bin/node"}
    }
    assert SiteOptions(js_runtime="bun").js_runtimes(packaged_deno()) == {"bun": {}}
