"""Per-shard selection to a ratio, then a merge over the shard winners to a global size."""

from __future__ import annotations

import numpy as np
import pytest

from acav_assets.core.selection import merge_selections, objective, select_shards

COLUMNS = ["audio_0", "visual_0", "audio_1", "visual_1"]


def _shards(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 6, size=(n, 4)) for n in (100, 150, 50)]


def test_each_shard_selects_its_ratio():
    winners = select_shards(_shards(0), COLUMNS, ratio=0.2)
    assert [len(w) for w in winners] == [20, 30, 10]
    assert all(len(set(w.tolist())) == len(w) for w in winners)


def test_merge_reaches_global_size_from_shard_winners_only():
    shards = _shards(1)
    winners = select_shards(shards, COLUMNS, ratio=0.2)
    merged = merge_selections(shards, winners, COLUMNS, n_select=25)
    assert len(merged.shard) == len(merged.row) == 25
    for shard, row in zip(merged.shard, merged.row, strict=True):
        assert row in winners[shard]
    picked = np.stack([shards[s][r] for s, r in zip(merged.shard, merged.row, strict=True)])
    assert merged.selector.objective_ == pytest.approx(
        objective(picked, COLUMNS, ks=[6] * 4), abs=1e-9
    )


def test_merge_rejects_mismatched_winner_lists():
    with pytest.raises(ValueError, match="length mismatch"):
        merge_selections(_shards(2), [np.arange(3)], COLUMNS, n_select=2)
