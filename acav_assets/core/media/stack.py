"""Whether the download stack is whole: the facts behind ``acav doctor``.

Since yt-dlp 2025.11.12 a YouTube download needs a JavaScript runtime (Deno by default) and
the EJS challenge-solver scripts; without them yt-dlp quietly returns few or no formats. So
the facts are asked of yt-dlp itself, with acav's own parameters: which runtime it finds and
its version, which solver scripts it would use, and whether the runtime really runs them.
Next to them: ffmpeg and ffprobe (merging and cutting), the cookies file (readable, not
expired), the proxy (set or not, never its credentials) and the storage root (writable).
The caller passes what it read from its environment; nothing here reads it or prints.
"""

from __future__ import annotations

import functools
import http.cookiejar
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import yt_dlp
from yt_dlp.postprocessor.ffmpeg import FFmpegPostProcessor
from yt_dlp.version import __version__ as YT_DLP_VERSION

from acav_assets.core.media.sites import SiteOptions
from acav_assets.core.redaction import redact
from acav_assets.core.storage import StorageRoot

log = logging.getLogger(__name__)

# Loads the solver (both scripts) in the runtime and prints what ``jsc`` is: "function" when
# the runtime runs the scripts yt-dlp would give it for a real player.
_SOLVER_PROBE = "{lib}\nObject.assign(globalThis, lib);\n{core}\nconsole.log(typeof jsc);\n"


class YtdlpLog:
    """Routes yt-dlp's messages to logging instead of stdout/stderr, without the credentials
    of the URLs they quote."""

    def debug(self, message: str) -> None:
        log.debug("yt-dlp: %s", redact(message))

    info = debug

    def warning(self, message: str) -> None:
        log.debug("yt-dlp warning: %s", redact(message))

    def error(self, message: str) -> None:
        log.debug("yt-dlp error: %s", redact(message))


@functools.cache
def packaged_deno() -> str | None:
    """The Deno binary of the ``deno`` package (pinned with yt-dlp), or ``None``."""
    try:
        from deno import find_deno_bin

        return find_deno_bin()
    except (ImportError, FileNotFoundError):
        return None


def proxy_in_use(proxy: str | None, environment: Mapping[str, str]) -> str | None:
    """The proxy yt-dlp will use: ``proxy``, else the environment's (``environment`` is
    what ``urllib.request.getproxies()`` read; yt-dlp falls back to the same)."""
    return proxy or environment.get("https") or environment.get("http") or environment.get("all")


@dataclass(frozen=True)
class Fact:
    """One checked part of the stack: its value (a version, a state; never a secret) and,
    when it is not ``ok``, what is wrong."""

    name: str
    ok: bool
    value: str
    problem: str = ""


@dataclass(frozen=True)
class StackReport:
    """Every fact; ``ok`` is false when YouTube downloads would fail or degrade."""

    facts: tuple[Fact, ...]

    @property
    def ok(self) -> bool:
        return all(fact.ok for fact in self.facts)

    @property
    def problems(self) -> list[str]:
        return [f"{fact.name}: {fact.problem}" for fact in self.facts if not fact.ok]

    def as_dict(self) -> dict[str, str]:
        """``{name: value}`` for metadata and the JSON summary (``!`` marks a problem)."""
        return {f.name: f.value if f.ok else f"! {f.value}: {f.problem}" for f in self.facts}


def _ffmpeg_facts() -> list[Fact]:
    versions = FFmpegPostProcessor.get_versions()
    return [
        Fact(name, True, versions[name])
        if versions.get(name)
        else Fact(name, False, "missing", f"{name} is not on PATH (apt-get install ffmpeg)")
        for name in ("ffmpeg", "ffprobe")
    ]


def _solver_facts(js_runtime: str, js_runtime_path: str | None) -> list[Fact]:
    """The runtime yt-dlp finds with these parameters, the scripts it would use, and a run
    of those scripts in that runtime."""
    from yt_dlp.extractor.youtube.jsc._builtin.ejs import ScriptType
    from yt_dlp.extractor.youtube.jsc._director import initialize_jsc_director
    from yt_dlp.extractor.youtube.jsc.provider import JsChallengeProviderError
    from yt_dlp.extractor.youtube.pot.provider import IEContentProviderError

    path = js_runtime_path or (packaged_deno() if js_runtime == "deno" else None)
    params = {
        "quiet": True,
        "no_warnings": True,
        "logger": YtdlpLog(),
        "js_runtimes": {js_runtime: {"path": path} if path else {}},
        "remote_components": set(),
    }
    with yt_dlp.YoutubeDL(params) as ydl:
        info = ydl._js_runtimes[js_runtime].info
        if info is None or not info.supported:
            found = "none" if info is None else f"{info.name} {info.version} (unsupported)"
            problem = f"yt-dlp finds no usable {js_runtime} at {path or 'PATH'}"
            missing = "not checked: no JS runtime"
            return [
                Fact("js_runtime", False, found, problem),
                Fact("ejs_scripts", False, "unknown", missing),
                Fact("challenge_solver", False, "unknown", missing),
            ]
        runtime = Fact("js_runtime", True, f"{info.name} {info.version} ({info.path})")
        director = initialize_jsc_director(ydl.get_info_extractor("Youtube"))
        provider = next(p for p in director.providers.values() if p.JS_RUNTIME_NAME == js_runtime)
        try:
            lib, core = provider._get_script(ScriptType.LIB), provider._get_script(ScriptType.CORE)
        except IEContentProviderError as error:
            problem = f"{error} (is yt-dlp-ejs installed?)"
            return [
                runtime,
                Fact("ejs_scripts", False, "missing", problem),
                Fact("challenge_solver", False, "unknown", "not checked: no solver scripts"),
            ]
        scripts = Fact(
            "ejs_scripts",
            True,
            f"lib {lib.version} ({lib.source.value}), core {core.version} ({core.source.value})",
        )
        try:
            output = provider._run_js_runtime(_SOLVER_PROBE.format(lib=lib.code, core=core.code))
        except (JsChallengeProviderError, OSError) as error:
            return [runtime, scripts, Fact("challenge_solver", False, "fails", str(error)[:300])]
    if output.strip() != "function":
        problem = f"the solver printed {output.strip()[:100]!r}"
        return [runtime, scripts, Fact("challenge_solver", False, "fails", problem)]
    return [runtime, scripts, Fact("challenge_solver", True, f"runs in {info.name}")]


def _cookies_fact(cookies_file: str | None, now: float) -> Fact:
    if not cookies_file:
        return Fact("cookies", True, "none")
    jar = http.cookiejar.MozillaCookieJar(cookies_file)
    try:
        jar.load(ignore_discard=True, ignore_expires=True)
    except (OSError, http.cookiejar.LoadError) as error:
        return Fact("cookies", False, "unreadable", f"{cookies_file}: {error}")
    cookies = list(jar)
    lasting = [c for c in cookies if c.expires]
    expired = [c for c in lasting if c.expires <= now]
    youtube = [c.expires for c in lasting if c.domain.lstrip(".").endswith("youtube.com")]
    value = f"{len(cookies)} cookies, {len(expired)} expired"
    if youtube:
        until = datetime.fromtimestamp(max(youtube), UTC).date().isoformat()
        value += f", youtube.com until {until}"
    if not cookies:
        return Fact("cookies", False, value, f"{cookies_file} holds no cookies")
    if lasting and len(expired) == len(lasting):
        return Fact("cookies", False, value, f"every cookie in {cookies_file} has expired")
    if youtube and max(youtube) <= now:
        return Fact("cookies", False, value, "the youtube.com cookies have expired")
    return Fact("cookies", True, value)


def _proxy_fact(proxy: str | None) -> Fact:
    if not proxy:
        return Fact("proxy", True, "not set")
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    try:
        port = parts.port
    except ValueError:
        return Fact("proxy", False, "set", "the proxy URL has an invalid port")
    where = f"{parts.scheme}://{parts.hostname}" + (f":{port}" if port else "")
    return Fact("proxy", True, f"set ({where})")


def _storage_fact(storage: StorageRoot | None) -> Fact:
    if storage is None:
        return Fact("storage_root", True, "not checked")
    target = storage.path(f".acav-doctor-{uuid.uuid4().hex}")
    try:
        storage.fs.pipe_file(target, b"acav doctor\n")
        storage.fs.rm(target)
    except Exception as error:  # fsspec backends raise their own types; any means "no"
        root = redact(storage.url)
        return Fact("storage_root", False, root, f"not writable: {type(error).__name__}")
    return Fact("storage_root", True, f"{redact(storage.url)} (writable)")


def check_download_stack(
    *,
    storage: StorageRoot | None = None,
    cookies_file: str | None = None,
    proxy: str | None = None,
    youtube: SiteOptions | None = None,
    now: float | None = None,
) -> StackReport:
    """Check every part of the download stack as configured (``youtube``: that site's
    settings, which choose the JS runtime); never raises for a broken part (that is a fact
    with ``ok=False``)."""
    youtube = youtube or SiteOptions()
    facts = [
        *_ffmpeg_facts(),
        Fact("yt_dlp", True, YT_DLP_VERSION),
        *_solver_facts(youtube.js_runtime, youtube.js_runtime_path),
        _cookies_fact(cookies_file, time.time() if now is None else now),
        _proxy_fact(proxy),
        _storage_fact(storage),
    ]
    return StackReport(tuple(facts))
