"""Measurements behind the blocking checks: what would poison the steps that follow."""

from __future__ import annotations

import numpy as np

from acav_assets.core.features.store import EmbeddingStore


def embedding_defects(store: EmbeddingStore, extractor: str, shard: str) -> dict[str, int]:
    """Clips of one shard whose stored embedding, in any layer, is not finite or is
    constant (a dead input gives the same vector everywhere and one giant cluster)."""
    counts = {"clips": 0, "non_finite": 0, "constant": 0}
    for layer in store.layers(extractor):
        ids, X = store.read_shard(extractor, shard, layer)
        X = np.asarray(X, dtype=np.float32)
        counts["clips"] = max(counts["clips"], len(ids))
        if X.shape[0] == 0:
            continue
        finite = np.isfinite(X).all(axis=1)
        counts["non_finite"] += int((~finite).sum())
        spread = np.ptp(np.where(np.isfinite(X), X, 0.0), axis=1)
        counts["constant"] += int((finite & (spread == 0)).sum())
    return counts
