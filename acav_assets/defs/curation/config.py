"""Run configuration of the curation assets, turned into core keyword arguments."""

from __future__ import annotations

from typing import Any

import dagster as dg

from acav_assets.core.features import DEFAULT_AUDIO_EXTRACTOR, DEFAULT_VISUAL_EXTRACTOR


class ClusteringConfig(dg.Config):
    """k-means per (modality, layer); ``k`` is "auto" (scaled to the data) or a number."""

    k: str = "auto"
    n_iter: int = 20
    seed: int = 0
    sample_size: int = 200_000
    max_points_per_centroid: int = 256
    normalize: bool = True
    audio_extractor: str = DEFAULT_AUDIO_EXTRACTOR
    visual_extractor: str = DEFAULT_VISUAL_EXTRACTOR
    max_cluster_share: float = 0.5

    def extractors(self) -> dict[str, str]:
        return {"audio": self.audio_extractor, "visual": self.visual_extractor}

    def resolved_k(self) -> int | str:
        return self.k if self.k == "auto" else int(self.k)


class SelectionConfig(dg.Config):
    """The search: pairing of clusterings, estimator, strategy, and the batch trick."""

    pairing: str = "bipartite"
    estimator: str = "plugin"
    strategy: str = "backward"
    batch_size: int = 20
    top_k: int = 4
    seed: int = 0

    def selector_kwargs(self) -> dict[str, Any]:
        return {
            "pairing": self.pairing,
            "estimator": self.estimator,
            "strategy": self.strategy,
            "batch_size": self.batch_size,
            "top_k": self.top_k,
            "seed": self.seed,
        }


class ShardSelectionConfig(SelectionConfig):
    ratio: float = 0.2


class SubsetConfig(SelectionConfig):
    """The global target: ``size`` clips, or ``ratio`` of all assigned clips; neither keeps
    every shard winner (in merged order)."""

    size: int | None = None
    ratio: float | None = None
