"""A clustering set trained across shards, stored, loaded, and applied to a new shard."""

from __future__ import annotations

import numpy as np
import pytest

from acav_assets.core.clustering import ClusteringOptions, ClusteringSet, embedding_sources
from acav_assets.core.clustering.clusterings import share_limit
from acav_assets.core.features import EmbeddingStore
from acav_assets.core.options import OptionError
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
    options = ClusteringOptions(k="3", seed=0, sample_size=80, ensemble_k=(1.0,), ensemble_seeds=1)
    trained = ClusteringSet.train(store, sources, ["s1", "s2"], options)
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


def test_the_ensemble_clusters_each_layer_at_every_multiple_of_k_and_seed(
    storage: StorageRoot,
) -> None:
    store = EmbeddingStore(storage)
    _fill(store, "s1", 90, seed=3)
    sources = embedding_sources(store, {"audio": "snd", "visual": "img"})
    options = ClusteringOptions(k="4", sample_size=90, ensemble_k=(0.5, 1.0, 2.0), ensemble_seeds=2)
    trained = ClusteringSet.train(store, sources, ["s1"], options)
    layer = [c for c in trained.columns if c.startswith("audio_0")]
    assert layer == ["audio_0", "audio_0.k4s1", "audio_0.k2s0", "audio_0.k2s1",
                     "audio_0.k8s0", "audio_0.k8s1"]  # fmt: skip
    assert len(trained.columns) == 4 * len(layer)
    assert dict(zip(trained.columns, trained.ks, strict=True))["visual_1.k8s1"] == 8
    seeds = {c: trained.models[c].seed for c in layer}
    assert seeds["audio_0"] == seeds["audio_0.k2s0"] != seeds["audio_0.k2s1"]
    assert set(trained.max_cluster_share()) == {"audio_0", "audio_1", "visual_0", "visual_1"}
    frame = trained.assign(store, "s1")
    assert frame.columns == ["clip_id", *trained.columns] and frame.height == 90
    again = ClusteringSet.train(store, sources, ["s1"], options).assign(store, "s1")
    assert frame.equals(again)


@pytest.mark.parametrize(
    ("change", "option"),
    [
        ({"ensemble_k": ()}, "ensemble_k"),
        ({"ensemble_k": (0.0,)}, "ensemble_k"),
        ({"ensemble_seeds": 0}, "ensemble_seeds"),
        ({"k": "x"}, "k"),
    ],
)
def test_bad_ensemble_settings_are_refused_by_name(change: dict, option: str) -> None:
    with pytest.raises(OptionError, match=option):
        ClusteringOptions(**change).validate()


def test_the_dominant_cluster_limit_widens_with_sampling_noise_on_small_samples() -> None:
    assert share_limit(0.5, 16) == pytest.approx(0.875)
    assert share_limit(0.5, 200_000) == pytest.approx(0.5, abs=0.004)
    assert share_limit(0.5, 9) == 1.0 and share_limit(0.5, 0) == 1.0
    rng = np.random.default_rng(0)
    # 8 videos of two clips, 4 clusters of equal odds: a fixed 0.5 fired on noise alone
    shares = [np.bincount(rng.integers(0, 4, 16), minlength=4).max() / 16 for _ in range(2000)]
    assert np.mean(np.array(shares) > 0.5) > 0.005
    assert np.mean(np.array(shares) > share_limit(0.5, 16)) == 0.0


def test_a_dominant_cluster_says_what_to_do_and_a_tiny_sample_is_not_judged() -> None:
    sizes = {"audio_0": [15, 1, 0], "visual_0": [6, 5, 5]}
    dominant = ClusteringSet({}, [], sizes).dominant_cluster(0.5)
    assert (dominant.column, dominant.n, dominant.passed) == ("audio_0", 16, False)
    assert "add more varied videos" in dominant.advice()
    assert "max_cluster_share" in dominant.advice()
    ok = ClusteringSet({}, [], {"audio_0": [9, 4, 3]}).dominant_cluster(0.5)
    assert ok.judged and ok.passed and "limit 88%" in ok.advice()
    tiny = ClusteringSet({}, [], {"audio_0": [8, 1]}).dominant_cluster(0.5)
    assert not tiny.judged and tiny.passed and "too few to judge" in tiny.advice()
