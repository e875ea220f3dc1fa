"""Media ingestion: manifests, shards, downloads, probing, filters, clip windows."""

from acav_assets.core.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "clips": [
            "STRATEGIES",
            "ClipWindow",
            "clip_id",
            "manifest_windows",
            "middle_windows",
            "pick_diverse",
            "shot_windows",
            "uniform_windows",
        ],
        "breaker": [
            "SiteBreaker",
        ],
        "fetch": [
            "Fetched",
            "FetchError",
            "download_video",
            "locate_local",
        ],
        "ingest": [
            "CLIPS_TABLE",
            "VIDEOS_TABLE",
            "ShardStats",
            "ingest_shard",
        ],
        "manifest": [
            "Manifest",
            "ManifestError",
            "ManifestReader",
            "load_manifest",
            "video_id_for",
            "youtube_id_from_url",
        ],
        "options": [
            "DownloadSettings",
            "IngestOptions",
        ],
        "containers": [
            "ALLOWED_CONTAINERS",
            "container_allowed",
            "input_args",
        ],
        "reach": [
            "check_url",
        ],
        "probe": [
            "ProbeError",
            "VideoProbe",
            "probe_video",
            "verify_tail",
        ],
        "records": [
            "ClipRecord",
            "SourceVideo",
            "VideoRecord",
        ],
        "shots": [
            "Shot",
            "choose_threshold",
            "cut_strength",
            "find_shots",
            "split_at_threshold",
        ],
        "sites": [
            "SiteOptions",
            "parse_sites",
            "site_of",
        ],
        "sources": [
            "SOURCES_TABLE",
            "ManifestShard",
            "register_manifest",
            "shard_manifest",
        ],
        "stack": [
            "Fact",
            "StackReport",
            "check_download_stack",
            "packaged_deno",
            "proxy_in_use",
        ],
        "ytdlp_errors": [
            "classify_download_error",
        ],
    },
)
