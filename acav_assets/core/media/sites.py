"""Per-site download settings a deployment passes to yt-dlp without code changes.

A site is ``youtube`` for every YouTube URL, else the URL's host name (``vimeo.com``,
``127.0.0.1``). Each site may set yt-dlp's extractor arguments (a player client, a
proof-of-origin token provider such as the ``bgutil-ytdlp-pot-provider`` plugin and its
server: ``{"youtubepot-bgutilhttp": {"base_url": ["http://bgutil:4416"]}}``), the sleeps
between requests and downloads, the JavaScript runtime that solves YouTube's player
challenges, and how many pushbacks in a row open its circuit breaker. The settings are
checked when they are read, so an unknown key or a bad value fails at start, with its name,
not after hours of downloads.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlparse

import yt_dlp
from yt_dlp.globals import supported_js_runtimes

from acav_assets.core.media.manifest import youtube_id_from_url

YOUTUBE = "youtube"
_YOUTUBE_HOSTS = ("youtube.com", "youtu.be", "youtube-nocookie.com")


def site_of(url: str) -> str:
    """The site a URL belongs to: ``youtube``, else its host name without ``www.``."""
    host = (urlparse(url).hostname or "").lower()
    if youtube_id_from_url(url) or any(host == h or host.endswith("." + h) for h in _YOUTUBE_HOSTS):
        return YOUTUBE
    return host.removeprefix("www.") or "unknown"


ExtractorArgs = Mapping[str, Mapping[str, tuple[str, ...]]]


@dataclass(frozen=True)
class SiteOptions:
    """What acav passes to yt-dlp for one site (each field maps to one yt-dlp option)."""

    # yt-dlp ``extractor_args``: {extractor key: {argument: [values]}}
    extractor_args: ExtractorArgs = field(default_factory=dict)
    sleep_requests: float | None = None  # ``sleep_interval_requests``: between requests (s)
    sleep_interval: float | None = None  # ``sleep_interval``: before each download (s)
    max_sleep_interval: float | None = None  # a random sleep up to this instead
    js_runtime: str = "deno"  # one of yt-dlp's ``js_runtimes``
    js_runtime_path: str | None = None  # default: Deno from the ``deno`` package, else PATH
    # consecutive bot checks / rate limits before the shard stops asking this site: one more
    # than the default number of concurrent downloads, so the stragglers in flight when a
    # block starts do not open it on their own, and at most a handful of requests are spent
    # on a site that has started to refuse.
    trip_after: int = 5
    # at most this many downloads from the site at once in a shard (None: the shard's own
    # concurrent_downloads)
    concurrent_downloads: int | None = None

    @classmethod
    def from_mapping(cls, site: str, raw: Mapping[str, Any]) -> SiteOptions:
        """Read one site's settings; raise ``ValueError`` naming an unknown key or bad value."""
        if not isinstance(raw, Mapping):
            raise ValueError(f"site {site!r}: settings must be a mapping, got {type(raw).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(k) for k in raw if k not in known)
        if unknown:
            raise ValueError(f"site {site!r}: unknown settings {unknown}; known: {sorted(known)}")
        values = dict(raw)
        if "extractor_args" in values:
            values["extractor_args"] = _extractor_args(site, values["extractor_args"])
        return cls(**values).validate(site)

    def validate(self, site: str) -> SiteOptions:
        """Raise ``ValueError`` naming the first bad setting of ``site``."""
        for name in ("sleep_requests", "sleep_interval", "max_sleep_interval"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < 0
            ):
                raise ValueError(f"site {site!r}: {name}={value!r} (a number of seconds >= 0)")
        if self.max_sleep_interval is not None and (
            self.sleep_interval is None or self.max_sleep_interval < self.sleep_interval
        ):
            raise ValueError(f"site {site!r}: max_sleep_interval needs a smaller sleep_interval")
        if (
            not isinstance(self.js_runtime, str)
            or self.js_runtime not in supported_js_runtimes.value
        ):
            raise ValueError(
                f"site {site!r}: js_runtime={self.js_runtime!r} "
                f"(yt-dlp supports {sorted(supported_js_runtimes.value)})"
            )
        if self.js_runtime_path is not None and not isinstance(self.js_runtime_path, str):
            raise ValueError(f"site {site!r}: js_runtime_path={self.js_runtime_path!r}")
        if (
            isinstance(self.trip_after, bool)
            or not isinstance(self.trip_after, int)
            or self.trip_after < 1
        ):
            raise ValueError(f"site {site!r}: trip_after={self.trip_after!r} (an integer >= 1)")
        limit = self.concurrent_downloads
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        ):
            raise ValueError(
                f"site {site!r}: concurrent_downloads={limit!r} (an integer >= 1, or none)"
            )
        return self

    def js_runtimes(self, default_deno: str | None) -> dict[str, dict[str, str]]:
        """yt-dlp's ``js_runtimes``: this runtime at its path (Deno: ``default_deno``)."""
        path = self.js_runtime_path or (default_deno if self.js_runtime == "deno" else None)
        return {self.js_runtime: {"path": path} if path else {}}

    def ytdlp_params(self, default_deno: str | None) -> dict[str, Any]:
        """The yt-dlp parameters these settings stand for."""
        params: dict[str, Any] = {
            "js_runtimes": self.js_runtimes(default_deno),
            # the challenge solver comes from the yt-dlp-ejs package: nothing is fetched
            "remote_components": set(),
        }
        if self.extractor_args:
            params["extractor_args"] = {k: {a: list(v) for a, v in args.items()}
                                        for k, args in self.extractor_args.items()}  # fmt: skip
        for name, key in (
            ("sleep_requests", "sleep_interval_requests"),
            ("sleep_interval", "sleep_interval"),
            ("max_sleep_interval", "max_sleep_interval"),
        ):
            if getattr(self, name) is not None:
                params[key] = getattr(self, name)
        return params


def _extractor_args(site: str, raw: Any) -> ExtractorArgs:
    """Extractor arguments as a mapping, or as yt-dlp's own ``IE_KEY:ARG=V1,V2;ARG2=V``
    strings (one or a list), normalised the way yt-dlp's command line does."""
    if isinstance(raw, str) or (
        isinstance(raw, list | tuple) and all(isinstance(item, str) for item in raw)
    ):
        texts = [raw] if isinstance(raw, str) else list(raw)
        argv = ["--ignore-config"]
        for text in texts:
            if ":" not in text:
                raise ValueError(f"site {site!r}: extractor_args {text!r} is not IE_KEY:ARGS")
            argv += ["--extractor-args", text]
        try:
            raw = yt_dlp.parse_options(argv).ydl_opts["extractor_args"]
        except SystemExit as error:  # optparse exits on a malformed option
            raise ValueError(f"site {site!r}: extractor_args {texts!r} do not parse") from error
    if not isinstance(raw, Mapping):
        raise ValueError(f"site {site!r}: extractor_args must map extractor keys to arguments")
    parsed: dict[str, Mapping[str, tuple[str, ...]]] = {}
    for key, args in raw.items():
        if not isinstance(key, str) or not key.strip() or not isinstance(args, Mapping):
            raise ValueError(f"site {site!r}: extractor_args[{key!r}] must map names to values")
        normalised: dict[str, tuple[str, ...]] = {}
        for name, values in args.items():
            values = [values] if isinstance(values, str) else values
            if (
                not isinstance(name, str)
                or not isinstance(values, list | tuple)
                or not all(isinstance(v, str) for v in values)
            ):
                raise ValueError(
                    f"site {site!r}: extractor_args[{key!r}][{name!r}] must be a string or "
                    f"a list of strings, got {values!r}"
                )
            normalised[name.strip().lower().replace("-", "_")] = tuple(values)
        parsed[key.strip().lower()] = normalised
    return parsed


def parse_sites(raw: Mapping[str, Any] | None) -> dict[str, SiteOptions]:
    """Every site's settings from a mapping ``{site: {setting: value}}`` (a config file, a
    Dagster config) or ``{site: SiteOptions}``; raise ``ValueError`` at the first unknown or
    bad one."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ValueError(f"sites must map site names to settings, got {type(raw).__name__}")
    sites = {}
    for site, settings in raw.items():
        if not isinstance(site, str) or not site.strip():
            raise ValueError(f"site name {site!r} must be a non-empty string")
        if isinstance(settings, SiteOptions):
            sites[site.strip().lower()] = settings.validate(site)
        else:
            sites[site.strip().lower()] = SiteOptions.from_mapping(site, settings or {})
    return sites
