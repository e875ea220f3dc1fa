"""Clustering: k-means per (modality, layer), versioned centroids, cluster-size checks."""

from acav_assets.core.clustering.kmeans import (
    KMeansClustering,
    cluster_size_stats,
    resolve_k,
)
from acav_assets.core.clustering.sampling import sample_rows

__all__ = ["KMeansClustering", "cluster_size_stats", "resolve_k", "sample_rows"]
