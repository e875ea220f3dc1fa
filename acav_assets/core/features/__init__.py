"""Multi-layer audio and visual embeddings of clip windows with pretrained networks."""

from acav_assets.core.features.base import Extractor, InputSpec
from acav_assets.core.features.extract import ExtractionResult, extract_clips, extract_shard
from acav_assets.core.features.registry import (
    DEFAULT_AUDIO_EXTRACTOR,
    DEFAULT_VISUAL_EXTRACTOR,
    EXTRACTORS,
    get_extractor,
)
from acav_assets.core.features.shards import (
    clip_windows,
    embed_shards,
    pending_shards,
    save_result,
)
from acav_assets.core.features.store import EmbeddingStore, write_status

__all__ = [
    "DEFAULT_AUDIO_EXTRACTOR",
    "DEFAULT_VISUAL_EXTRACTOR",
    "EXTRACTORS",
    "EmbeddingStore",
    "ExtractionResult",
    "Extractor",
    "InputSpec",
    "clip_windows",
    "embed_shards",
    "extract_clips",
    "extract_shard",
    "get_extractor",
    "pending_shards",
    "save_result",
    "write_status",
]
