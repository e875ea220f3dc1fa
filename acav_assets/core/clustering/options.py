"""How each (modality, layer) is clustered."""

from __future__ import annotations

from dataclasses import dataclass

from acav_assets.core.features.options import FeatureOptions
from acav_assets.core.options import OptionError, option


@dataclass(frozen=True)
class ClusteringOptions:
    """The clustering domain's settings; ``KMeansClustering``'s defaults are these."""

    k: str = option(
        "auto", "Clusters per clustering: 'auto' (largest k <= 32 with n >= k^2) or a number."
    )
    n_iter: int = option(20, "k-means iterations.")
    seed: int = option(0, "Seed of the sample and of k-means.")
    sample_size: int = option(200_000, "Clips sampled across shards to train each clustering.")
    max_points_per_centroid: int = option(256, "k-means trains on at most k x this many clips.")
    normalize: bool = option(True, "L2-normalise embeddings before clustering.")
    max_cluster_share: float = option(
        0.5, "The check fails when one cluster holds a larger share of a clustering's sample."
    )
    audio_extractor: str = option(
        FeatureOptions.audio_extractor, "The audio embeddings to cluster (extractor name)."
    )
    visual_extractor: str = option(
        FeatureOptions.visual_extractor, "The visual embeddings to cluster (extractor name)."
    )

    def extractors(self) -> dict[str, str]:
        return {"audio": self.audio_extractor, "visual": self.visual_extractor}

    def resolved_k(self) -> int | str:
        """``k`` as the engine takes it: "auto" or a number (``OptionError`` otherwise)."""
        if self.k == "auto":
            return self.k
        if not (str(self.k).isdigit() and int(self.k) >= 2):
            raise OptionError("k", f"{self.k!r}: use 'auto' or a whole number >= 2")
        return int(self.k)
