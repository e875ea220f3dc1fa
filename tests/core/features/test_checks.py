"""The measurements behind the blocking embedding checks."""

from __future__ import annotations

import numpy as np
import pytest

from acav_assets.core.features import EmbeddingStore, embedding_defects
from acav_assets.core.storage import StorageRoot


def test_embedding_defects_counts_overflowed_and_constant_rows(storage: StorageRoot) -> None:
    store = EmbeddingStore(storage)
    X = np.random.default_rng(0).normal(size=(5, 4))
    X[1] = 7.0  # a dead input: the same value everywhere
    X[3, 2] = 1e6  # finite in float32, infinite once stored as float16
    with pytest.warns(RuntimeWarning, match="overflow"):
        store.write("snd", "s1", 0, [f"c{i}" for i in range(5)], X)
    store.write_meta("snd", "s1", {"version": "snd-v1"})
    assert embedding_defects(store, "snd", "s1") == {"clips": 5, "non_finite": 1, "constant": 1}
