"""Multi-layer audio and visual embeddings of clip windows with pretrained networks."""

from acav_assets.core.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "base": [
            "Extractor",
            "InputSpec",
        ],
        "checks": [
            "embedding_defects",
        ],
        "extract": [
            "ExtractionResult",
            "extract_clips",
            "extract_shard",
        ],
        "options": [
            "FeatureOptions",
        ],
        "registry": [
            "EXTRACTORS",
            "get_extractor",
        ],
        "shards": [
            "clip_windows",
            "embed_shards",
            "pending_shards",
            "save_result",
        ],
        "store": [
            "EmbeddingStore",
            "write_status",
        ],
    },
)
