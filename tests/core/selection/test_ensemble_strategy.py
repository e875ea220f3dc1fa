"""The ensemble strategy: backward elimination over every clustering of each layer, where the
other strategies keep each layer's own clustering only."""

from __future__ import annotations

import numpy as np
import pytest

from acav_assets.core.selection import STRATEGIES, BatchGreedySelector
from acav_assets.core.selection.pairing import (
    column_layer,
    is_primary,
    strategy_columns,
    variant_column,
)


def noisy_ensemble(n: int, k: int, variants: int, noise: float, seed: int):
    """Half of the clips agree (audio class = visual class); every clustering sees its clip's
    class through its own independent noise (a share ``noise`` relabelled at random)."""
    rng = np.random.default_rng(seed)
    visual = rng.integers(0, k, size=n)
    audio = visual.copy()
    swapped = rng.permutation(n)[: n // 2]
    audio[swapped] = (visual[swapped] + rng.integers(1, k, size=len(swapped))) % k
    columns, labels = [], []
    for modality, truth in (("audio", audio), ("visual", visual)):
        for rep in range(variants):
            flip = rng.random(n) < noise
            labels.append(np.where(flip, rng.integers(0, k, size=n), truth))
            columns.append(f"{modality}_0" if rep == 0 else variant_column(modality, 0, k, rep))
    return np.stack(labels, axis=1), columns, audio == visual


def test_variant_names_parse_to_their_layer_and_are_not_primary() -> None:
    name = variant_column("visual", 3, 16, 2)
    assert name == "visual_3.k16s2" and column_layer(name) == "3" and not is_primary(name)
    assert is_primary("audio_12") and column_layer("audio_12") == "12"
    assert "ensemble" in STRATEGIES


def test_only_the_ensemble_strategy_searches_the_variants() -> None:
    labels, columns, _ = noisy_ensemble(60, 4, 3, 0.2, seed=0)
    backward = BatchGreedySelector(n_select=30, strategy="backward").fit(labels, columns)
    ensemble = BatchGreedySelector(n_select=30, strategy="ensemble").fit(labels, columns)
    assert backward.pairs_ == [("audio_0", "visual_0")]
    assert len(ensemble.pairs_) == 9
    kept, names, ks = strategy_columns("forward", labels, columns, [4] * 6)
    assert names == ["audio_0", "visual_0"] and ks == [4, 4] and kept.shape == (60, 2)


def test_ensemble_equals_backward_over_the_same_clusterings_named_as_layers() -> None:
    labels, columns, _ = noisy_ensemble(80, 5, 3, 0.3, seed=1)
    as_layers = [f"{c.split('_')[0]}_{i}" for i, c in enumerate(columns)]
    ensemble = BatchGreedySelector(n_select=40, strategy="ensemble").fit(labels, columns)
    reference = BatchGreedySelector(n_select=40, strategy="backward").fit(labels, as_layers)
    assert np.array_equal(ensemble.order_, reference.order_)
    assert ensemble.objective_ == pytest.approx(reference.objective_)


def test_averaging_noisy_clusterings_finds_more_true_clips_than_one_of_them() -> None:
    gains = []
    for seed in range(4):
        labels, columns, truth = noisy_ensemble(400, 6, 5, 0.45, seed=seed)
        size = int(truth.sum())
        one = BatchGreedySelector(n_select=size, strategy="backward").fit(labels, columns)
        many = BatchGreedySelector(n_select=size, strategy="ensemble").fit(labels, columns)
        gains.append(truth[many.order_].mean() - truth[one.order_].mean())
    assert np.mean(gains) > 0.05 and min(gains) > 0
