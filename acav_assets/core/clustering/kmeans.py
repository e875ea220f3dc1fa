"""k-means per (modality, layer) with faiss, with centroids that are a versioned product.

Why a wrapper: faiss samples ``k * max_points_per_centroid`` training points silently and
picks its device implicitly; here the sample is drawn with our seed and logged, the device is
a constructor argument, and the centroids are saved with their config and a version id so new
shards are assigned later without re-clustering.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
from typing import Any

import faiss
import numpy as np

from acav_assets.core.clustering.options import ClusteringOptions
from acav_assets.core.storage import StorageRoot

log = logging.getLogger(__name__)

K_MAX = 32
K_MIN = 2
CLIPS_PER_CELL = 1  # chosen by measurement: benchmarks/RESULTS.md, "The k rule"
CENTROIDS_FILE = "centroids.npy"
CONFIG_FILE = "config.json"


def resolve_k(
    n_points: int, k: int | str = "auto", c: float = CLIPS_PER_CELL, k_max: int = K_MAX
) -> int:
    """The number of clusters: an explicit ``k``, or the largest k <= k_max with n >= c k^2.

    Why: a k-by-k contingency table needs enough clips per cell, otherwise selection chases
    noise (on 144 clips k = 32 was no better than random; k = 8 or 16 was). ``c = 1`` gives
    k = 15 on 240 clips, 26 on 720, and the paper's 32 from 1,024 clips on; under backward
    search it beat c = 2 on 240 clips and matched it on 450 and 720.
    """
    if isinstance(k, str):
        if k != "auto":
            raise ValueError(f"k must be a positive integer or 'auto', got {k!r}")
        if c <= 0 or k_max < K_MIN:
            raise ValueError(f"need c > 0 and k_max >= {K_MIN}, got c={c}, k_max={k_max}")
        if n_points < K_MIN:
            raise ValueError(f"need at least {K_MIN} points to cluster, got {n_points}")
        auto = int(math.isqrt(int(n_points / c)))
        while auto > 1 and n_points < c * auto * auto:
            auto -= 1
        if auto < K_MIN:
            log.warning("only %d points: k=%d is below the rule n >= %g k^2", n_points, K_MIN, c)
        return max(K_MIN, min(k_max, auto))
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer or 'auto', got {k!r}")
    return int(k)


def cluster_size_stats(labels: np.ndarray, k: int) -> dict[str, Any]:
    """Sizes of the k clusters, the largest share and the number of empty clusters."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise ValueError(f"labels must be in 0..{k - 1}, got {labels.min()}..{labels.max()}")
    sizes = np.bincount(labels.astype(np.int64), minlength=k)
    n = int(sizes.sum())
    return {
        "k": int(k),
        "n": n,
        "sizes": sizes.tolist(),
        "min": int(sizes.min()) if k else 0,
        "max": int(sizes.max()) if k else 0,
        "max_share": float(sizes.max() / n) if n else 0.0,
        "empty": int((sizes == 0).sum()),
    }


def _as_float32(X: np.ndarray, normalize: bool) -> np.ndarray:
    """A float32 C-contiguous array; a copy where it is normalised (never the caller's)."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    if normalize:
        X = X.copy()
        faiss.normalize_L2(X)
    return X


class KMeansClustering:
    """faiss k-means of ``X`` float32 ``(n_clips, dim)`` into ``k`` clusters.

    Fitted: ``centroids_`` float32 ``(k, dim)``, ``k_``, ``inertia_`` (sum of squared
    distances on the training sample), ``config_`` and ``version_`` (a hash of both).
    """

    def __init__(
        self,
        k: int | str = ClusteringOptions.k,
        n_iter: int = ClusteringOptions.n_iter,
        seed: int = ClusteringOptions.seed,
        max_points_per_centroid: int = ClusteringOptions.max_points_per_centroid,
        normalize: bool = ClusteringOptions.normalize,
        use_gpu: bool | str = "auto",
    ) -> None:
        self.k = k
        self.n_iter = n_iter
        self.seed = seed
        self.max_points_per_centroid = max_points_per_centroid
        self.normalize = normalize
        self.use_gpu = use_gpu

    def _gpu(self) -> bool:
        if self.use_gpu == "auto":
            return faiss.get_num_gpus() > 0
        if not isinstance(self.use_gpu, bool):
            raise ValueError(f"use_gpu must be True, False or 'auto', got {self.use_gpu!r}")
        if self.use_gpu and faiss.get_num_gpus() == 0:
            raise ValueError("use_gpu=True but faiss sees no GPU")
        return self.use_gpu

    def fit(self, X: np.ndarray) -> KMeansClustering:
        """Cluster ``X``; at most ``k * max_points_per_centroid`` rows, drawn with ``seed``."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] == 0:
            raise ValueError(f"X must be 2-D (n_clips, dim), got shape {X.shape}")
        k = resolve_k(X.shape[0], self.k)
        if X.shape[0] < k:
            raise ValueError(f"fewer points ({X.shape[0]}) than clusters (k={k})")
        if self.n_iter < 1 or self.max_points_per_centroid < 1:
            raise ValueError(
                f"n_iter and max_points_per_centroid must be >= 1, got {self.n_iter}, "
                f"{self.max_points_per_centroid}"
            )
        n_train = min(X.shape[0], k * self.max_points_per_centroid)
        rows = np.sort(np.random.default_rng(self.seed).choice(X.shape[0], n_train, replace=False))
        train = _as_float32(X[rows] if n_train < X.shape[0] else X, self.normalize)
        bad = int((~np.isfinite(train)).any(axis=1).sum())
        if bad:
            raise ValueError(f"{bad} training points have non-finite features (NaN or inf)")
        distinct = len(np.unique(train, axis=0))
        if distinct < k:
            raise ValueError(
                f"only {distinct} distinct points for k={k} (constant or duplicated features)"
            )
        gpu = self._gpu()
        log.info(
            "k-means k=%d on %d of %d points (max_points_per_centroid=%d, dim=%d, gpu=%s)",
            k, n_train, X.shape[0], self.max_points_per_centroid, X.shape[1], gpu,
        )  # fmt: skip
        # min_points_per_centroid=1: faiss only warns below it (on stderr, once a
        # clustering: 90 lines for the demo's ensemble); k auto already sizes k to the sample
        km = faiss.Kmeans(
            train.shape[1], k, niter=int(self.n_iter), seed=int(self.seed), gpu=gpu,
            max_points_per_centroid=int(self.max_points_per_centroid),
            min_points_per_centroid=1, spherical=bool(self.normalize), verbose=False,
        )  # fmt: skip
        km.train(train)
        self.centroids_ = np.ascontiguousarray(km.centroids, dtype=np.float32)
        self.k_ = k
        self.inertia_ = float(km.obj[-1]) if len(km.obj) else 0.0
        self.config_ = {
            "k": k,
            "k_requested": self.k,
            "n_iter": int(self.n_iter),
            "seed": int(self.seed),
            "max_points_per_centroid": int(self.max_points_per_centroid),
            "normalize": bool(self.normalize),
            "dim": int(train.shape[1]),
            "n_points": int(X.shape[0]),
            "n_train_points": int(n_train),
            "gpu": gpu,
            "faiss_version": faiss.__version__,
        }
        self.version_ = _version(self.config_, self.centroids_)
        return self

    def predict(self, X: np.ndarray, batch_size: int = 65536) -> np.ndarray:
        """Nearest centroid of each row, int64; ``X`` may be float16 or a memmap."""
        if not hasattr(self, "centroids_"):
            raise ValueError("KMeansClustering is not fitted: call fit() or load() first")
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.centroids_.shape[1]:
            raise ValueError(f"X must be (n, {self.centroids_.shape[1]}), got shape {X.shape}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        index = faiss.IndexFlatL2(self.centroids_.shape[1])
        index.add(self.centroids_)
        out = np.empty(X.shape[0], dtype=np.int64)
        for start in range(0, X.shape[0], batch_size):
            batch = _as_float32(X[start : start + batch_size], self.config_["normalize"])
            if not np.isfinite(batch).all():
                raise ValueError(f"non-finite features in rows {start}..{start + len(batch) - 1}")
            out[start : start + len(batch)] = index.search(batch, 1)[1][:, 0]
        return out

    def save(self, root: StorageRoot, folder: str) -> str:
        """Write ``centroids.npy`` then ``config.json`` (which marks the pair complete)."""
        buf = io.BytesIO()
        np.save(buf, self.centroids_)
        root.write_bytes(root.path(folder, CENTROIDS_FILE), buf.getvalue())
        meta = {**self.config_, "version": self.version_, "inertia": self.inertia_}
        root.write_bytes(root.path(folder, CONFIG_FILE), json.dumps(meta, indent=2).encode())
        return root.path(folder)

    @classmethod
    def load(cls, root: StorageRoot, folder: str) -> KMeansClustering:
        meta = json.loads(root.read_bytes(root.path(folder, CONFIG_FILE)))
        centroids = np.load(io.BytesIO(root.read_bytes(root.path(folder, CENTROIDS_FILE))))
        version, inertia = meta.pop("version"), meta.pop("inertia")
        if _version(meta, centroids) != version:
            raise ValueError(f"centroids in {folder!r} do not match their version {version}")
        model = cls(
            k=meta["k_requested"], n_iter=meta["n_iter"], seed=meta["seed"],
            max_points_per_centroid=meta["max_points_per_centroid"],
            normalize=meta["normalize"], use_gpu=False,
        )  # fmt: skip
        model.centroids_, model.k_, model.inertia_ = centroids, meta["k"], inertia
        model.config_, model.version_ = meta, version
        return model


def _version(config: dict[str, Any], centroids: np.ndarray) -> str:
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode())
    digest.update(np.ascontiguousarray(centroids, dtype=np.float32).tobytes())
    return digest.hexdigest()[:16]
