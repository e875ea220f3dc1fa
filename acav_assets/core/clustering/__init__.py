"""Clustering: k-means per (modality, layer), versioned centroids, cluster-size checks, and
the set of clusterings trained and applied together."""

from acav_assets.core.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "clusterings": [
            "ClusteringSet",
            "EmbeddingSource",
            "embedding_sources",
        ],
        "kmeans": [
            "KMeansClustering",
            "cluster_size_stats",
            "resolve_k",
        ],
        "options": [
            "ClusteringOptions",
        ],
        "sampling": [
            "sample_rows",
        ],
    },
)
