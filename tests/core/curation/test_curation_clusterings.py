"""A clustering set trained across shards, stored, loaded, and applied to a new shard."""

from __future__ import annotations

import numpy as np
import pytest

from acav_assets.core.curation import ClusteringSet, embedding_defects, embedding_sources
from acav_assets.core.features import EmbeddingStore
from acav_assets.core.storage import StorageRoot


def _fill(store: EmbeddingStore, shard: str, n: int, seed: int) -> list[str]:
    """Two extractors, two layers each, three well-separated blobs."""
    rng = np.random.default_rng(seed)
    ids = [f"{shard}_{i}" for i in range(n)]
    centres = rng.normal(size=(3, 8)) * 10
    blob = rng.integers(0, 3, size=n)
    for name in ("snd", "img"):
        for layer in (0, 1):
            X = centres[blob] + rng.normal(size=(n, 8))
            store.write(name, shard, layer, ids, X)
        store.write_meta(name, shard, {"version": f"{name}-v1"})
    return ids


def test_a_stored_set_assigns_the_same_labels_as_the_trained_one(storage: StorageRoot) -> None:
    store = EmbeddingStore(storage)
    for index, shard in enumerate(("s1", "s2")):
        _fill(store, shard, 60, seed=index)
    sources = embedding_sources(store, {"audio": "snd", "visual": "img"})
    assert [(s.modality, s.version) for s in sources] == [("audio", "snd-v1"), ("visual", "img-v1")]
    trained = ClusteringSet.train(store, sources, ["s1", "s2"], k=3, seed=0, sample_size=80)
    assert trained.columns == ["audio_0", "audio_1", "visual_0", "visual_1"]
    assert trained.ks == [3, 3, 3, 3]
    assert all(sum(sizes) == 80 for sizes in trained.sample_sizes.values())
    trained.save(storage)
    loaded = ClusteringSet.load(storage)
    assert loaded.version == trained.version == ClusteringSet.latest_version(storage)
    _fill(store, "s3", 30, seed=7)
    fresh, again = trained.assign(store, "s3"), loaded.assign(store, "s3")
    assert fresh.equals(again)
    assert fresh.columns == ["clip_id", *trained.columns] and fresh.height == 30


def test_loading_without_any_stored_set_is_a_clear_error(storage: StorageRoot) -> None:
    with pytest.raises(FileNotFoundError, match="no clusterings stored"):
        ClusteringSet.load(storage)
    with pytest.raises(ValueError, match="no audio embeddings by 'snd'"):
        embedding_sources(EmbeddingStore(storage), {"audio": "snd"})


def test_embedding_defects_counts_overflowed_and_constant_rows(storage: StorageRoot) -> None:
    store = EmbeddingStore(storage)
    X = np.random.default_rng(0).normal(size=(5, 4))
    X[1] = 7.0  # a dead input: the same value everywhere
    X[3, 2] = 1e6  # finite in float32, infinite once stored as float16
    with pytest.warns(RuntimeWarning, match="overflow"):
        store.write("snd", "s1", 0, [f"c{i}" for i in range(5)], X)
    store.write_meta("snd", "s1", {"version": "snd-v1"})
    assert embedding_defects(store, "snd", "s1") == {"clips": 5, "non_finite": 1, "constant": 1}
