"""Media ingestion: manifests, shards, downloads, probing, filters, clip windows."""

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
    classify_download_error,
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
from acav_assets.core.media.sources import (
    SOURCES_TABLE,
    ManifestShard,
    register_manifest,
    shard_manifest,
)

__all__ = [
    "CLIPS_TABLE",
    "STRATEGIES",
    "SOURCES_TABLE",
    "VIDEOS_TABLE",
    "ClipWindow",
    "DownloadSettings",
    "FetchError",
    "Fetched",
    "IngestOptions",
    "Manifest",
    "ManifestError",
    "ManifestShard",
    "ProbeError",
    "ShardStats",
    "Shot",
    "VideoProbe",
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
    "pick_diverse",
    "probe_video",
    "register_manifest",
    "shard_manifest",
    "shot_windows",
    "split_at_threshold",
    "uniform_windows",
    "verify_tail",
    "video_id_for",
    "youtube_id_from_url",
]
