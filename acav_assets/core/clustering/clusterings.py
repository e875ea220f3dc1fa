"""One k-means clustering per (modality, layer), trained together and versioned together,
with the ensemble's variants of each (the same layer at other multiples of k and other k-means
seeds: ``ClusteringOptions.ensemble_k`` and ``ensemble_seeds``).

The set is trained once on a sample streamed across the shards and stored under
``clusterings/<version>/``; new shards are assigned with it without re-clustering, and a
re-training is a new version that makes the old assignments stale.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import posixpath
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import polars as pl

from acav_assets.core.clustering.kmeans import KMeansClustering, cluster_size_stats
from acav_assets.core.clustering.options import ClusteringOptions
from acav_assets.core.clustering.sampling import sample_rows
from acav_assets.core.features.store import EmbeddingStore
from acav_assets.core.selection.pairing import column_layer, is_primary, variant_column
from acav_assets.core.storage import StorageRoot

log = logging.getLogger(__name__)
SET_FILE = "clustering_set.json"
ENSEMBLE_SEED_STEP = 1000  # k-means seed of variant ``rep``: the set's seed + rep * this
LATEST_FILE = "LATEST"


@dataclass(frozen=True)
class EmbeddingSource:
    """Where one modality's embeddings live: the extractor and its version."""

    modality: str
    extractor: str
    version: str


def embedding_sources(store: EmbeddingStore, extractors: dict[str, str]) -> list[EmbeddingSource]:
    """The stored embeddings to cluster, one extractor per modality, with their versions."""
    sources = []
    for modality, name in extractors.items():
        shards = store.shards(name)
        if not shards:
            raise ValueError(f"no {modality} embeddings by {name!r} yet: embed some shards first")
        version = (store.meta(name, shards[-1]) or {}).get("version", "")
        sources.append(EmbeddingSource(modality, name, version))
    return sources


# A largest-cluster share is judged only past this many standard errors of its sample.
SHARE_NOISE_Z = 3.0


def share_limit(max_share: float, n: int) -> float:
    """The largest-cluster share that ``n`` sampled clips can show by chance when the true
    share is ``max_share``: ``max_share`` plus SHARE_NOISE_Z binomial standard errors.

    Why: on 16 clips of 8 videos one cluster holds 9 of them (0.56) by sampling noise alone,
    and a fixed 0.5 stopped such small folders although nothing was wrong; on the 200,000
    clips of a full sample the margin is 0.003 and the limit is the user's.
    """
    if n < 1:
        return 1.0
    return min(1.0, max_share + SHARE_NOISE_Z * math.sqrt(max_share * (1 - max_share) / n))


@dataclass(frozen=True)
class DominantCluster:
    """The clustering with the most dominant cluster, its share, its sample and the limit."""

    column: str
    share: float
    n: int
    limit: float

    @property
    def judged(self) -> bool:
        """Whether the sample can tell a dominant cluster from noise at all (at the default
        limit of 0.5, nine clips or fewer cannot: any share is within the noise)."""
        return self.limit < 1.0

    @property
    def passed(self) -> bool:
        return self.share <= self.limit

    def advice(self) -> str:
        """What the check says, and where it fails what the user can do."""
        if not self.judged:
            return (
                f"{self.n} clips are too few to judge cluster sizes; the check passes without "
                "judging (add videos for a curation worth checking)"
            )
        found = (
            f"the largest cluster of {self.column} holds {self.share:.0%} of its {self.n} "
            f"sampled clips (limit {self.limit:.0%} at this sample size)"
        )
        if self.passed:
            return found
        return (
            f"{found}: the embeddings barely tell the clips apart (one scene, silence, black "
            "frames, or near-duplicate videos?). Look at the cluster sizes in report.html, "
            "add more varied videos, or raise max_cluster_share (Dagster config of "
            "clusterings) if one kind of clip really is most of the corpus"
        )


class ClusteringSet:
    """The fitted clusterings, keyed by column name (``audio_<layer>``, ``visual_<layer>``, and
    ``<modality>_<layer>.k<k>s<seed>`` for the ensemble's variants)."""

    def __init__(
        self,
        models: dict[str, KMeansClustering],
        sources: Sequence[EmbeddingSource],
        sample_sizes: dict[str, list[int]] | None = None,
    ) -> None:
        self.models = models
        self.sources = list(sources)
        self.sample_sizes = sample_sizes or {}

    def max_cluster_share(self) -> dict[str, float]:
        """Per layer's own clustering, the share of the training sample in its largest cluster
        (the variants differ from it only by k and seed)."""
        return {c: max(s) / max(sum(s), 1) for c, s in self.sample_sizes.items() if is_primary(c)}

    def dominant_cluster(self, max_share: float) -> DominantCluster:
        """The clustering whose largest cluster holds the largest share of its sample, judged
        against ``max_share`` widened by that sample's noise (see ``share_limit``)."""
        shares = self.max_cluster_share()
        worst = max(shares, key=shares.get)
        n = sum(self.sample_sizes[worst])
        return DominantCluster(worst, shares[worst], n, share_limit(max_share, n))

    @property
    def columns(self) -> list[str]:
        return list(self.models)

    @property
    def ks(self) -> list[int]:
        return [int(m.k_) for m in self.models.values()]

    @property
    def version(self) -> str:
        parts = [f"{c}:{m.version_}" for c, m in self.models.items()]
        parts += [f"{s.modality}:{s.version}" for s in self.sources]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]

    @classmethod
    def train(
        cls,
        store: EmbeddingStore,
        sources: Sequence[EmbeddingSource],
        shards: Sequence[str],
        options: ClusteringOptions,
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> ClusteringSet:
        """Fit one k-means per (modality, layer) and the ensemble's variants of it on a sample
        across ``shards`` (the variants on the same sample)."""
        k = options.validate().resolved_k()
        if not shards:
            raise ValueError("no shards with embeddings to train the clusterings on")
        jobs = [(s, layer) for s in sources for layer in store.layers(s.extractor)]
        if not jobs:
            raise ValueError(f"no stored layers for extractors {[s.extractor for s in sources]}")
        models: dict[str, KMeansClustering] = {}
        sizes: dict[str, list[int]] = {}
        for done, (source, layer) in enumerate(jobs):
            batches = (
                np.asarray(store.read_shard(source.extractor, shard, layer)[1], np.float32)
                for shard in shards
            )
            X = sample_rows(batches, options.sample_size, options.seed)
            primary = f"{source.modality}_{layer}"
            models[primary] = _kmeans(options, k, options.seed).fit(X)
            sizes[primary] = cluster_size_stats(models[primary].predict(X), models[primary].k_)[
                "sizes"
            ]
            for kk, rep in options.ensemble(models[primary].k_)[1:]:
                if kk > len(X):
                    continue
                column = variant_column(source.modality, layer, kk, rep)
                models[column] = _kmeans(options, kk, options.seed + ENSEMBLE_SEED_STEP * rep)
                sizes[column] = cluster_size_stats(models[column].fit(X).predict(X), kk)["sizes"]
            if progress is not None:
                progress(done + 1, len(jobs))
        return cls(models, sources, sizes)

    def save(self, root: StorageRoot) -> str:
        """Store the set under ``clusterings/<version>/`` and mark it the latest."""
        folder = posixpath.join("clusterings", self.version)
        for column, model in self.models.items():
            model.save(root, posixpath.join(folder, column))
        description = {
            "version": self.version,
            "columns": self.columns,
            "ks": self.ks,
            "sources": [asdict(s) for s in self.sources],
            "sample_sizes": self.sample_sizes,
        }
        root.write_bytes(root.path(folder, SET_FILE), json.dumps(description).encode())
        root.write_bytes(root.path("clusterings", LATEST_FILE), self.version.encode())
        return root.path(folder)

    @staticmethod
    def latest_version(root: StorageRoot) -> str | None:
        path = root.path("clusterings", LATEST_FILE)
        return root.read_bytes(path).decode().strip() if root.fs.exists(path) else None

    @classmethod
    def load(cls, root: StorageRoot, version: str | None = None) -> ClusteringSet:
        version = version or cls.latest_version(root)
        if version is None:
            raise FileNotFoundError(f"no clusterings stored under {root.uri('clusterings')}")
        folder = posixpath.join("clusterings", version)
        description = json.loads(root.read_bytes(root.path(folder, SET_FILE)))
        models = {
            c: KMeansClustering.load(root, posixpath.join(folder, c))
            for c in description["columns"]
        }
        sources = [EmbeddingSource(**s) for s in description["sources"]]
        return cls(models, sources, description.get("sample_sizes"))

    def assign(self, store: EmbeddingStore, shard: str) -> pl.DataFrame:
        """Labels of every clip of ``shard`` that has embeddings for every clustering:
        ``clip_id`` and one int64 column per clustering."""
        extractor = {s.modality: s.extractor for s in self.sources}
        by_layer: dict[tuple[str, int], list[str]] = {}
        for column in self.models:
            by_layer.setdefault((column.split("_", 1)[0], int(column_layer(column))), []).append(
                column
            )
        parts = []
        for (modality, layer), columns in by_layer.items():
            ids, X = store.read_shard(extractor[modality], shard, layer)
            X = np.asarray(X, dtype=np.float32)
            labels = {c: self.models[c].predict(X).astype(np.int64) for c in columns}
            parts.append(pl.DataFrame({"clip_id": ids, **labels}))
        frame = parts[0]
        for part in parts[1:]:
            frame = frame.join(part, on="clip_id", how="inner")
        return frame.select("clip_id", *self.models).sort("clip_id")


def _kmeans(options: ClusteringOptions, k: int | str, seed: int) -> KMeansClustering:
    return KMeansClustering(
        k=k,
        n_iter=options.n_iter,
        seed=seed,
        max_points_per_centroid=options.max_points_per_centroid,
        normalize=options.normalize,
    )
