"""A uniform sample of rows from a stream of arrays, in bounded memory.

Why: clusterings are trained on a sample across shards of stored embeddings that do not fit in
memory together. Each row gets a random key; the rows with the smallest keys are the sample,
so the result is uniform, reproducible for a seed, and independent of how rows are batched.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def sample_rows(batches: Iterable[np.ndarray], n_sample: int, seed: int = 0) -> np.ndarray:
    """Up to ``n_sample`` rows drawn uniformly without replacement, in stream order."""
    if n_sample < 0:
        raise ValueError(f"n_sample must be >= 0, got {n_sample}")
    rng = np.random.default_rng(seed)
    kept: np.ndarray | None = None
    keys = np.empty(0)
    positions = np.empty(0, dtype=np.int64)
    offset = 0
    for batch in batches:
        batch = np.asarray(batch)
        if batch.ndim != 2:
            raise ValueError(f"each batch must be 2-D (rows, dim), got shape {batch.shape}")
        if kept is not None and batch.shape[1] != kept.shape[1]:
            raise ValueError(f"batch of dim {batch.shape[1]} after dim {kept.shape[1]}")
        new_keys = rng.random(len(batch))
        kept = batch if kept is None else np.concatenate([kept, batch])
        keys = np.concatenate([keys, new_keys])
        positions = np.concatenate([positions, offset + np.arange(len(batch))])
        offset += len(batch)
        if len(keys) > n_sample:
            best = np.argpartition(keys, n_sample)[:n_sample] if n_sample else np.empty(0, int)
            kept, keys, positions = kept[best], keys[best], positions[best]
    if kept is None:
        raise ValueError("no batches to sample from")
    stream_order = np.argsort(positions, kind="stable")
    return kept[stream_order]
