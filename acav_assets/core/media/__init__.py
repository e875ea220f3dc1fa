"""Media ingestion: manifests, shards, downloads, probing, filters, clip windows."""

from acav_assets.core.media.breaker import SiteBreaker
from acav_assets.core.media.clips import (
    STRATEGIES,
    ClipWindow,
    clip_id,
    manifest_windows,
    middle_windows,
    pick_diverse,
    shot_windows,
    uniform_windows,
)
from acav_assets.core.media.fetch import (
    DownloadSettings,
    Fetched,
    FetchError,
    download_video,
    locate_local,
)
from acav_assets.core.media.ingest import (
    CLIPS_TABLE,
    VIDEOS_TABLE,
    IngestOptions,
    ShardStats,
    ingest_shard,
)
from acav_assets.core.media.manifest import (
    Manifest,
    ManifestError,
    load_manifest,
    video_id_for,
    youtube_id_from_url,
)
from acav_assets.core.media.probe import ProbeError, VideoProbe, probe_video, verify_tail
from acav_assets.core.media.shots import Shot, choose_threshold, find_shots, split_at_threshold
from acav_assets.core.media.sites import SiteOptions, parse_sites, site_of
from acav_assets.core.media.sources import (
    SOURCES_TABLE,
    ManifestShard,
    register_manifest,
    shard_manifest,
)
from acav_assets.core.media.stack import (
    Fact,
    StackReport,
    check_download_stack,
    packaged_deno,
    proxy_in_use,
)
from acav_assets.core.media.ytdlp_errors import classify_download_error

__all__ = [
    "CLIPS_TABLE",
    "STRATEGIES",
    "SOURCES_TABLE",
    "VIDEOS_TABLE",
    "ClipWindow",
    "DownloadSettings",
    "Fact",
    "FetchError",
    "Fetched",
    "IngestOptions",
    "Manifest",
    "ManifestError",
    "ManifestShard",
    "ProbeError",
    "ShardStats",
    "Shot",
    "SiteBreaker",
    "SiteOptions",
    "StackReport",
    "VideoProbe",
    "check_download_stack",
    "choose_threshold",
    "classify_download_error",
    "clip_id",
    "download_video",
    "find_shots",
    "ingest_shard",
    "load_manifest",
    "locate_local",
    "manifest_windows",
    "middle_windows",
    "packaged_deno",
    "parse_sites",
    "probe_video",
    "proxy_in_use",
    "pick_diverse",
    "register_manifest",
    "shard_manifest",
    "shot_windows",
    "site_of",
    "split_at_threshold",
    "uniform_windows",
    "verify_tail",
    "video_id_for",
    "youtube_id_from_url",
]
