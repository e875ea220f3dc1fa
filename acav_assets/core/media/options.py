"""How sources are sharded and a shard is ingested; the defaults are ACAV100M's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from acav_assets.core.media.clips import STRATEGIES
from acav_assets.core.options import nested, option

if TYPE_CHECKING:
    from acav_assets.core.media.sites import SiteOptions


@dataclass(frozen=True)
class DownloadSettings:
    """yt-dlp settings for one shard."""

    max_height: int = option(360, "Download at most this height (pixels).")
    retries: int = option(3, "Retries of a transient download failure (5xx, timeouts).")
    backoff_s: float = option(1.0, "First wait before a retry (s); doubled each time.")
    socket_timeout: float = option(30.0, "Network timeout (s).")
    rate_limit: int | None = option(None, "Download at most this many bytes per second.")
    cookies_file: str | None = option(None, "Cookies file for yt-dlp (Netscape format).")
    proxy: str | None = option(
        None, "Proxy URL for downloads (one with credentials: ACAV_PROXY_URL, not the config)."
    )
    refuse_private_addresses: bool = option(
        False,
        "Refuse URLs, redirects and playlist segments that resolve to loopback, link-local or "
        "private addresses (on in the cluster; off for local work).",
    )
    max_bytes: int | None = option(1 << 30, "Stop a download past this many bytes (too_large).")
    max_seconds: float | None = option(
        900.0, "Stop a download that takes longer than this, retries included (time_limit, s)."
    )
    sites: dict[str, dict[str, Any]] = option(
        {},
        "Per-site yt-dlp settings, {site: {setting: value}} (site: 'youtube' or a host name; "
        "settings: extractor_args, sleep_requests, sleep_interval, max_sleep_interval, "
        "js_runtime, js_runtime_path, trip_after, concurrent_downloads).",
    )

    def site_options(self, site: str) -> SiteOptions:
        """The checked settings of ``site`` (see ``site_of``), the defaults if it has none."""
        from acav_assets.core.media.sites import SiteOptions, parse_sites

        return parse_sites(self.sites).get(site) or SiteOptions()

    def problems(self) -> list[str]:
        """What is wrong with these settings, one phrase each."""
        from acav_assets.core.media.sites import parse_sites

        problems = []
        try:
            parse_sites(self.sites)
        except ValueError as error:
            problems.append(str(error))
        if self.max_height < 1:
            problems.append(f"max_height={self.max_height!r} (must be >= 1)")
        if not self.socket_timeout > 0:
            problems.append(f"socket_timeout={self.socket_timeout!r} (must be > 0)")
        for name in ("max_bytes", "max_seconds"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                problems.append(f"{name}={value!r} (must be > 0, or None for no limit)")
        if self.retries < 0 or self.backoff_s < 0:
            problems.append(f"retries={self.retries!r}, backoff_s={self.backoff_s!r} (>= 0)")
        return problems


@dataclass(frozen=True)
class IngestOptions:
    """Registration, download, filters and clip windows of the media domain."""

    # 140M videos / 2,000 = 70,000 shards: under Dagster's guidance of at most 100,000
    # partitions an asset, with room for 200M videos (deployments/README.md, capacity plan).
    shard_size: int = option(2000, "Videos per shard (one Dagster partition).")
    allowed_roots: tuple[str, ...] = option(
        (), "Folders local videos may be read from; none: the storage root (local roots only)."
    )
    clip_strategy: str = option(
        "shots", "Clip windows: shots, middle or uniform (windows a manifest gives always win)."
    )
    clips_per_video: int = option(3, "Clips per video, at most.")
    clip_seconds: float = option(10.0, "Length of a clip (s).")
    shot_threshold: float = option(
        1.0,
        "Cut strength (a frame's scdet score over the median within 4 s) the shot search "
        "starts from, raised x1.2 up to 10 until enough shots.",
    )
    min_duration_s: float = option(30.0, "Shorter videos are dropped (s).")
    max_duration_s: float = option(597.0, "Longer videos are dropped (s).")
    min_height: int | None = option(None, "Videos smaller than this many rows are dropped.")
    require_audio: bool = option(True, "Drop videos without an audio stream.")
    require_video: bool = option(True, "Drop videos without a video stream.")
    concurrent_downloads: int = option(4, "Videos fetched and probed at once.")
    verify_tail: bool = option(True, "Decode the last second of each file to catch truncation.")
    dedup_across_shards: bool = option(True, "Also drop content already kept by other shards.")
    scratch_dir: str | None = option(
        None, "Local working folder for media when the storage root is remote."
    )
    max_failed_share: float = option(
        0.5, "The ingest check fails when a larger share of a shard's videos failed."
    )
    download: DownloadSettings = nested(DownloadSettings, "How videos are downloaded (yt-dlp).")

    def validate(self) -> IngestOptions:
        """Raise ``ValueError`` naming every bad option."""
        problems = []
        if self.clip_strategy not in STRATEGIES:
            problems.append(f"clip_strategy={self.clip_strategy!r} (choose {STRATEGIES})")
        for name in ("clips_per_video", "concurrent_downloads", "shard_size"):
            if getattr(self, name) < 1:
                problems.append(f"{name}={getattr(self, name)!r} (must be >= 1)")
        for name in ("clip_seconds", "shot_threshold"):
            if not getattr(self, name) > 0:
                problems.append(f"{name}={getattr(self, name)!r} (must be > 0)")
        if not 0 <= self.min_duration_s <= self.max_duration_s:
            problems.append(
                f"min_duration_s={self.min_duration_s!r}, max_duration_s={self.max_duration_s!r}"
            )
        if not 0.0 <= self.max_failed_share <= 1.0:
            problems.append(f"max_failed_share={self.max_failed_share!r} (must be in [0, 1])")
        if isinstance(self.allowed_roots, str):
            problems.append(f"allowed_roots={self.allowed_roots!r} (a list of folders)")
        problems += self.download.problems()
        if problems:
            raise ValueError("invalid ingest options: " + "; ".join(problems))
        return self
