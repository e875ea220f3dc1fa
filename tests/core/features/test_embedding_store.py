"""EmbeddingStore: float16 on disk, float32 out, atomic files, complete shards only."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from acav_assets.core.catalog.tables import TableStore
from acav_assets.core.features import EmbeddingStore, write_status


def test_store_round_trips_layers_across_shards(storage):
    store = EmbeddingStore(storage)
    rng = np.random.default_rng(0)
    X_a, X_b = rng.standard_normal((3, 4)), rng.standard_normal((2, 4))
    for shard, ids, X in (("s1", ["a", "b", "c"], X_a), ("s0", ["d", "e"], X_b)):
        for layer in range(2):
            store.write("soundnet8", shard, layer, ids, X + layer)
        store.write_meta("soundnet8", shard, {"version": "v1"})
    store.write("soundnet8", "incomplete", 0, ["z"], np.ones((1, 4)))
    assert store.shards("soundnet8") == ["s0", "s1"]
    assert store.layers("soundnet8") == [0, 1]
    ids, X = store.read("soundnet8", 1)
    assert ids == ["d", "e", "a", "b", "c"] and X.dtype == np.float32
    expected = np.concatenate([X_b, X_a]) + 1
    np.testing.assert_array_equal(X, expected.astype(np.float16).astype(np.float32))
    assert store.read("soundnet8", 0, shards=["s1"])[0] == ["a", "b", "c"]
    assert store.meta("soundnet8", "s0") == {"version": "v1"}
    assert store.meta("soundnet8", "incomplete") is None
    assert not storage.glob("embeddings", "**", "*.tmp")


def test_store_rewrite_replaces_a_layer(storage):
    store = EmbeddingStore(storage)
    store.write("m", "s", 0, ["a", "b"], np.zeros((2, 3)))
    store.write("m", "s", 0, ["c"], np.ones((1, 3)))
    ids, X = store.read_shard("m", "s", 0)
    assert ids == ["c"] and X.tolist() == [[1.0, 1.0, 1.0]]


def test_store_rejects_bad_arrays_and_keys(storage):
    store = EmbeddingStore(storage)
    with pytest.raises(ValueError, match=r"\(3,\)"):
        store.write("m", "s", 0, ["a", "b", "c"], np.zeros(3))
    with pytest.raises(ValueError, match="2 ids"):
        store.write("m", "s", 0, ["a", "b"], np.zeros((3, 2)))
    with pytest.raises(ValueError, match="not finite"):
        store.write("m", "s", 0, ["a"], np.array([[np.nan]]))
    with pytest.raises(ValueError, match="not unique"):
        store.write("m", "s", 0, ["a", "a"], np.zeros((2, 1)))
    with pytest.raises(ValueError, match="shard"):
        store.write("m", "../x", 0, ["a"], np.zeros((1, 1)))
    with pytest.raises(ValueError, match="layer_index"):
        store.write("m", "s", -1, ["a"], np.zeros((1, 1)))
    assert not storage.exists("embeddings", "m", "shard=s")


def test_write_status_keeps_other_extractors_rows(storage):
    tables = TableStore(storage)
    audio = pl.DataFrame({"clip_id": ["a", "b"], "extractor": ["snd"] * 2, "status": ["ok"] * 2})
    visual = pl.DataFrame({"clip_id": ["a"], "extractor": ["vis"], "status": ["failed"]})
    write_status(tables, "s", audio)
    write_status(tables, "s", visual)
    write_status(tables, "s", audio.head(1))
    rows = tables.read("embeddings").sort("extractor", "clip_id")
    assert rows.select("clip_id", "extractor", "status").rows() == [
        ("a", "snd", "ok"),
        ("a", "vis", "failed"),
    ]
