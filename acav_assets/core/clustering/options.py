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
        0.5,
        "The check fails when one cluster holds a larger share of a clustering's sample "
        "(widened by the sample's noise on small samples).",
    )
    ensemble_k: tuple[float, ...] = option(
        (0.5, 1.0, 2.0),
        "The ensemble: each layer is also clustered at these multiples of k "
        "(strategy ensemble pairs them all; (1.0,) with ensemble_seeds 1 trains only k).",
    )
    ensemble_seeds: int = option(3, "The ensemble: k-means seeds per layer and k.")
    audio_extractor: str = option(
        FeatureOptions.audio_extractor, "The audio embeddings to cluster (extractor name)."
    )
    visual_extractor: str = option(
        FeatureOptions.visual_extractor, "The visual embeddings to cluster (extractor name)."
    )

    def extractors(self) -> dict[str, str]:
        return {"audio": self.audio_extractor, "visual": self.visual_extractor}

    def ensemble(self, k: int) -> list[tuple[int, int]]:
        """The (k, seed offset) of every clustering of a layer whose own k is ``k``, the
        layer's own clustering (k, 0) first; each k is at least 2."""
        ks = dict.fromkeys([k, *(max(2, round(k * f)) for f in self.ensemble_k)])
        return [(kk, rep) for kk in ks for rep in range(max(1, self.ensemble_seeds))]

    def validate(self) -> ClusteringOptions:
        """Raise ``OptionError`` at the first bad setting."""
        self.resolved_k()
        if not self.ensemble_k or any(not f > 0 for f in self.ensemble_k):
            raise OptionError("ensemble_k", f"{self.ensemble_k!r}: give multiples of k above 0")
        if self.ensemble_seeds < 1:
            raise OptionError("ensemble_seeds", f"{self.ensemble_seeds!r} must be >= 1")
        return self

    def resolved_k(self) -> int | str:
        """``k`` as the engine takes it: "auto" or a number (``OptionError`` otherwise)."""
        if self.k == "auto":
            return self.k
        if not (str(self.k).isdigit() and int(self.k) >= 2):
            raise OptionError("k", f"{self.k!r}: use 'auto' or a whole number >= 2")
        return int(self.k)
