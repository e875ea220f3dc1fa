"""The auto size across shards: each shard estimates its own share and keeps enough winners
for the merge; the merge's target is the candidates-weighted share of the shards; every
assigned clip gets its contribution to the curated subset."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from acav_assets.core.selection import (
    ESTIMATE_COLUMNS,
    SelectionOptions,
    auto_target,
    clip_scores,
    contributions,
    merge_candidates,
    merge_shard_winners,
    select_shard,
)

COLUMNS = ["audio_0", "audio_1", "visual_0", "visual_1"]
KS = [12, 12, 12, 12]


def _shard(name: str, n: int, share: float, seed: int) -> tuple[pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    visual = rng.integers(0, 6, n)
    truth = rng.random(n) < share
    audio = np.where(truth, visual, (visual + rng.integers(1, 6, n)) % 6)
    frame = {"clip_id": [f"{name}-{i:04d}" for i in range(n)]}
    for column in COLUMNS:
        source = audio if column.startswith("audio") else visual
        frame[column] = (source * 2 + rng.integers(0, 2, n)) % 12
    return pl.DataFrame(frame).with_columns(
        pl.lit(name).alias("shard"), pl.lit("v1").alias("clustering_version")
    ), truth


def test_shards_estimate_their_own_share_and_the_merge_weights_them_by_size() -> None:
    options = SelectionOptions(auto_size=True, shard_ratio=0.2)
    shards = [_shard("a", 600, 0.3, 1), _shard("b", 300, 0.7, 2)]
    winners = []
    for (frame, truth), name in zip(shards, ("a", "b"), strict=True):
        outcome = select_shard(frame, COLUMNS, KS, options)
        estimate = outcome.estimate
        assert estimate.share == pytest.approx(truth.mean(), abs=0.08)
        assert outcome.frame.height == round(min(1.0, 2 * estimate.size / frame.height)
                                             * frame.height)  # fmt: skip
        assert set(ESTIMATE_COLUMNS) <= set(outcome.frame.columns)
        labelled = outcome.frame.with_columns(
            pl.lit(name).alias("shard"), pl.lit("v1").alias("clustering_version")
        )
        winners.append(labelled)
    winners = pl.concat(winners)
    target = auto_target(winners, 900)
    a, b = (w.filter(pl.col("shard") == s)["estimated_share"][0] for s, w in
            (("a", winners), ("b", winners)))  # fmt: skip
    assert target["estimated_share"] == pytest.approx((600 * a + 300 * b) / 900, abs=1e-4)
    assert target["estimated_size"] == round(target["estimated_share"] * 900)
    assert target["share_low"] <= target["estimated_share"] <= target["share_high"]


def test_a_merge_without_shard_estimates_says_to_select_again() -> None:
    frame, _ = _shard("a", 100, 0.5, 3)
    plain = select_shard(frame, COLUMNS, KS, SelectionOptions()).frame
    with pytest.raises(ValueError, match="select the shards again with auto_size"):
        auto_target(plain.with_columns(pl.lit("a").alias("shard")), 100)


def test_every_assigned_clip_scores_its_contribution_to_the_subset() -> None:
    (a, _), (b, _) = _shard("a", 120, 0.5, 4), _shard("b", 80, 0.5, 5)
    assigned = pl.concat([a, b])
    options = SelectionOptions()
    winners = pl.concat(
        [select_shard(f, COLUMNS, KS, SelectionOptions(shard_ratio=0.5)).frame.with_columns(
            pl.lit(s).alias("shard"), pl.lit("v1").alias("clustering_version"))
         for f, s in ((a, "a"), (b, "b"))]
    )  # fmt: skip
    candidates = merge_candidates(assigned, winners, "v1")
    subset, _ = merge_shard_winners(candidates, COLUMNS, KS, 60, **options.search_kwargs())
    scores = clip_scores(assigned, subset, COLUMNS, KS, options)
    assert scores.height == 200 and int(scores["kept"].sum()) == 60
    ordered = assigned.sort("shard", "clip_id")
    kept = scores["kept"].to_numpy()
    expected = contributions(ordered.select(COLUMNS).to_numpy(), COLUMNS, np.flatnonzero(kept), KS)
    assert np.allclose(scores["contribution"].to_numpy(), expected)
    by_id = dict(zip(subset["clip_id"], subset["contribution"], strict=True))
    kept_scores = scores.filter(pl.col("kept"))
    assert np.allclose([by_id[c] for c in kept_scores["clip_id"]], kept_scores["contribution"])
