"""GreeDi over stored frames: the merge keeps only shard winners of the current clustering
version, reaches the global target, and its objective is that of the rows it picked."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from acav_assets.core.selection import (
    merge_candidates,
    merge_shard_winners,
    merge_target,
    objective,
    select_clips,
    shard_ratio_for,
)

COLUMNS = ["audio_0", "visual_0", "audio_1", "visual_1"]
KS = [6, 6, 6, 6]


def _assignments(seed: int, version: str = "v1") -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    frames = []
    for shard, n in (("s0", 100), ("s1", 150), ("s2", 50)):
        labels = rng.integers(0, 6, size=(n, 4))
        frame = pl.DataFrame(labels, schema=COLUMNS).with_columns(
            pl.Series("clip_id", [f"{shard}-{i:03d}" for i in range(n)]),
            pl.lit(shard).alias("shard"),
            pl.lit(version).alias("clustering_version"),
        )
        frames.append(frame)
    return pl.concat(frames)


def _winners(assigned: pl.DataFrame, ratio: float) -> pl.DataFrame:
    parts = []
    for (shard,), group in assigned.group_by("shard", maintain_order=True):
        picked = select_clips(group, COLUMNS, KS, ratio=ratio).frame
        parts.append(picked.with_columns(pl.lit(shard).alias("shard")))
    return pl.concat(parts).with_columns(pl.lit("v1").alias("clustering_version"))


def test_each_shard_selects_its_ratio_and_the_merge_picks_only_winners():
    assigned = _assignments(0)
    winners = _winners(assigned, 0.2)
    assert winners.group_by("shard").len().sort("shard")["len"].to_list() == [20, 30, 10]
    candidates = merge_candidates(assigned, winners, "v1")
    assert candidates.height == 60
    subset, outcome = merge_shard_winners(candidates, COLUMNS, KS, 25)
    assert subset.height == 25 and subset["rank"].to_list() == list(range(25))
    picked = subset.join(winners, on="clip_id", how="semi")
    assert picked.height == 25
    assert (subset["from_shard"] == subset["clip_id"].str.slice(0, 2)).all()
    rows = candidates.join(subset.select("clip_id"), on="clip_id", how="semi")
    assert outcome.objective == pytest.approx(
        objective(rows.select(COLUMNS).to_numpy(), COLUMNS, ks=KS), abs=1e-9
    )


def test_winners_of_a_stale_clustering_version_are_left_out():
    assigned = pl.concat(
        [_assignments(1, "v1"), _assignments(2, "v2").filter(pl.col("shard") == "s9")]
    )
    stale = _winners(assigned, 0.2).with_columns(
        pl.when(pl.col("shard") == "s1").then(pl.lit("v0")).otherwise(pl.col("clustering_version"))
        .alias("clustering_version")
    )  # fmt: skip
    candidates = merge_candidates(assigned, stale, "v1")
    assert set(candidates["shard"]) == {"s0", "s2"}


def test_the_global_target_and_the_shard_share_it_needs():
    assert merge_target(None, None, 300, 60) == 60
    assert merge_target(40, None, 300, 60) == 40
    assert merge_target(None, 0.1, 300, 60) == 30
    with pytest.raises(ValueError, match="not both"):
        merge_target(40, 0.1, 300, 60)
    assert shard_ratio_for(None, 300, 0.2) == 0.2
    assert shard_ratio_for(114, 240, 0.2) == pytest.approx(0.95)
    assert shard_ratio_for(200, 240, 0.2) == 1.0
