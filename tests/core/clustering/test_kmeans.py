"""k-means wrapper: the k rule, faiss training and assignment, versioned centroids, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from acav_assets.core.clustering import (
    KMeansClustering,
    cluster_size_stats,
    resolve_k,
    sample_rows,
)


def blobs(n: int, k: int, dim: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=10.0, size=(k, dim))
    truth = rng.integers(0, k, size=n)
    return (centres[truth] + rng.normal(scale=0.1, size=(n, dim))).astype(np.float32), truth


@given(st.integers(2, 100_000))
def test_auto_k_is_largest_k_up_to_32_with_a_clip_per_cell(n):
    k = resolve_k(n)
    assert 2 <= k <= 32
    reference = max([c for c in range(2, 33) if n >= c * c], default=2)
    assert k == reference


def test_auto_k_follows_the_measured_examples():
    assert resolve_k(144) == 12
    assert resolve_k(240) == 15
    assert resolve_k(720) == 26
    assert resolve_k(720, c=2) == 18
    assert resolve_k(1_000_000) == 32
    assert resolve_k(720, c=20) == 6
    assert resolve_k(10, k=7) == 7


@pytest.mark.parametrize("k", ["many", 0, -3, 2.5])
def test_resolve_k_rejects_bad_k(k):
    with pytest.raises(ValueError, match="k must be"):
        resolve_k(100, k)


def test_predict_in_batches_gives_the_nearest_centroid():
    X, _ = blobs(600, 5)
    model = KMeansClustering(k=5, seed=0, normalize=False).fit(X)
    labels = model.predict(X.astype(np.float16), batch_size=97)
    assert labels.dtype == np.int64 and model.centroids_.shape == (5, 8)
    half = X.astype(np.float16).astype(np.float32)
    dist = ((half[:, None, :] - model.centroids_[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(labels, dist.argmin(axis=1))
    assert model.inertia_ == pytest.approx(
        ((X - model.centroids_[model.predict(X)]) ** 2).sum(), rel=1e-3
    )


def test_fit_separates_two_distant_blobs():
    X, truth = blobs(400, 2, seed=1)
    labels = KMeansClustering(k=2, seed=0).fit(X).predict(X)
    assert (
        len(np.unique(labels[truth == 0])) == 1 and labels[truth == 0][0] != labels[truth == 1][0]
    )


def test_fit_samples_at_most_k_times_max_points_per_centroid():
    X, _ = blobs(1000, 4)
    model = KMeansClustering(k=4, max_points_per_centroid=50, seed=1).fit(X)
    assert model.config_["n_train_points"] == 200 and model.config_["n_points"] == 1000


def test_fit_is_deterministic_for_a_seed_and_normalizes_when_asked():
    X, _ = blobs(300, 3, seed=2)
    a = KMeansClustering(k=3, seed=3, normalize=True).fit(X)
    before = X.copy()
    b = KMeansClustering(k=3, seed=3, normalize=True).fit(X)
    np.testing.assert_array_equal(X, before)  # the caller's array is not normalised in place
    assert a.version_ == b.version_
    np.testing.assert_allclose(np.linalg.norm(a.centroids_, axis=1), 1.0, atol=1e-5)


def test_saved_centroids_load_with_same_version_and_labels(storage):
    X, _ = blobs(400, 4, seed=4)
    model = KMeansClustering(k=4, seed=0).fit(X)
    model.save(storage, "clusterings/v1/audio_0")
    loaded = KMeansClustering.load(storage, "clusterings/v1/audio_0")
    assert loaded.version_ == model.version_ and loaded.k_ == 4
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_load_rejects_centroids_that_do_not_match_their_version(storage):
    model = KMeansClustering(k=2, seed=0).fit(blobs(50, 2)[0])
    model.centroids_ = model.centroids_ + 1.0
    model.save(storage, "c")
    with pytest.raises(ValueError, match="do not match their version"):
        KMeansClustering.load(storage, "c")


@pytest.mark.parametrize(
    ("X", "message"),
    [
        (np.zeros((3, 4), dtype=np.float32), "fewer points"),
        (np.ones((50, 4), dtype=np.float32), "only 1 distinct points"),
        (np.full((50, 4), np.nan, dtype=np.float32), "non-finite"),
        (np.zeros(10, dtype=np.float32), "must be 2-D"),
    ],
)
def test_fit_rejects_degenerate_input(X, message):
    with pytest.raises(ValueError, match=message):
        KMeansClustering(k=5).fit(X)


def test_predict_rejects_wrong_dimension_and_unfitted_model():
    with pytest.raises(ValueError, match="not fitted"):
        KMeansClustering(k=2).predict(np.zeros((2, 3)))
    model = KMeansClustering(k=2).fit(blobs(40, 2)[0])
    with pytest.raises(ValueError, match=r"must be \(n, 8\)"):
        model.predict(np.zeros((2, 3)))


def test_use_gpu_true_without_gpu_is_an_error():
    with pytest.raises(ValueError, match="no GPU"):
        KMeansClustering(k=2, use_gpu=True).fit(blobs(40, 2)[0])


def test_cluster_size_stats_counts_sizes_share_and_empty():
    stats = cluster_size_stats(np.array([0, 0, 0, 2]), k=4)
    assert stats["sizes"] == [3, 0, 1, 0]
    assert stats["max_share"] == 0.75 and stats["empty"] == 2
    with pytest.raises(ValueError, match="0..3"):
        cluster_size_stats(np.array([0, 4]), k=4)


def test_sample_rows_is_uniform_bounded_and_independent_of_batching():
    X = np.arange(1000, dtype=np.float32).reshape(-1, 1)
    whole = sample_rows([X], 100, seed=5)
    pieces = sample_rows(np.array_split(X, 7), 100, seed=5)
    assert len(whole) == 100 and len(np.unique(whole)) == 100
    assert np.all(np.diff(pieces[:, 0]) > 0)
    counts = np.zeros(1000)
    for seed in range(200):
        counts[sample_rows(np.array_split(X, 3), 100, seed=seed)[:, 0].astype(int)] += 1
    # each row is kept with probability 0.1: 20 of 200 draws on average
    assert 12 < counts.mean() < 28 and counts[:500].mean() == pytest.approx(
        counts[500:].mean(), rel=0.15
    )
