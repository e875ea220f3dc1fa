"""MI and the objective against scikit-learn and the textbook formulas."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_mutual_info_score, mutual_info_score
from sklearn.metrics.cluster import contingency_matrix, expected_mutual_information

from acav_assets.core.selection import mutual_info, objective, resolve_pairs

COLUMNS = ["audio_0", "audio_1", "visual_0", "visual_1"]


def label_pairs(max_k: int = 6, max_n: int = 60):
    return st.integers(1, max_n).flatmap(
        lambda n: st.tuples(
            st.lists(st.integers(0, max_k - 1), min_size=n, max_size=n),
            st.lists(st.integers(0, max_k - 1), min_size=n, max_size=n),
        )
    )


def _entropy(labels: np.ndarray) -> float:
    p = np.unique(labels, return_counts=True)[1] / len(labels)
    return float(-(p * np.log(p)).sum())


@settings(max_examples=60, deadline=None)
@given(label_pairs())
def test_plugin_mi_equals_sklearn(pair):
    a, b = (np.array(x) for x in pair)
    assert mutual_info(a, b) == pytest.approx(mutual_info_score(a, b), abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(label_pairs())
def test_adjusted_mi_equals_sklearn(pair):
    a, b = (np.array(x) for x in pair)
    # where mean entropy == expected MI (e.g. every clip its own cluster) AMI is 0/0 and
    # sklearn's answer depends on the rounding of two equal numbers: not a comparison.
    emi = expected_mutual_information(contingency_matrix(a, b), len(a))
    assume(abs(0.5 * (_entropy(a) + _entropy(b)) - emi) > 1e-9)
    expected = adjusted_mutual_info_score(a, b)
    assert mutual_info(a, b, 8, 8, estimator="adjusted") == pytest.approx(expected, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(label_pairs())
def test_miller_madow_corrects_each_entropy_by_occupied_bins(pair):
    a, b = (np.array(x) for x in pair)
    n = len(a)
    joint = a * 100 + b

    def corrected(x):
        return _entropy(x) + (len(np.unique(x)) - 1) / (2 * n)

    expected = corrected(a) + corrected(b) - corrected(joint)
    assert mutual_info(a, b, estimator="miller_madow") == pytest.approx(expected, abs=1e-9)


def test_objective_is_mean_mi_over_bipartite_pairs():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, size=(50, 4))
    pairs = [(0, 2), (0, 3), (1, 2), (1, 3)]
    expected = np.mean([mutual_info_score(labels[:, a], labels[:, b]) for a, b in pairs])
    assert objective(labels, COLUMNS) == pytest.approx(expected, abs=1e-12)


def test_objective_of_empty_set_is_zero():
    assert objective(np.empty((0, 4), dtype=np.int64), COLUMNS, ks=[3, 3, 3, 3]) == 0.0


def test_pairings_count_pairs_of_five_layers():
    columns = [f"audio_{i}" for i in range(5)] + [f"visual_{i}" for i in range(5)]
    assert len(resolve_pairs(columns, "bipartite")) == 25
    assert len(resolve_pairs(columns, "combination")) == 45
    assert resolve_pairs(columns, "diagonal") == [(i, i + 5) for i in range(5)]
    assert resolve_pairs(columns, [("audio_1", "visual_3")]) == [(1, 8)]


def test_pairing_rejects_unknown_name_and_missing_modality():
    with pytest.raises(ValueError, match="unknown pairing 'zigzag'"):
        resolve_pairs(COLUMNS, "zigzag")
    with pytest.raises(ValueError, match="no pairs"):
        resolve_pairs(["audio_0"], "bipartite")
    with pytest.raises(ValueError, match="'clip_id'"):
        resolve_pairs(["audio_0", "clip_id"], "bipartite")
    with pytest.raises(ValueError, match="does not name two"):
        resolve_pairs(COLUMNS, [("audio_0", "visual_9")])


@pytest.mark.parametrize(
    ("labels", "ks", "message"),
    [
        (np.array([[0, 5, 1, 1]]), [4, 4, 4, 4], "label 5 in column 'audio_1'.*k=4"),
        (np.array([[0, 1, -2, 1]]), None, "negative label -2 in column 'visual_0'"),
        (np.array([[0.0, 1.0, np.nan, 1.0]]), None, "nan"),
        (np.array([[0.0, 1.5, 1.0, 1.0]]), None, "1.5 is not an integer"),
        (np.array([[0, 1, 1]]), None, "length mismatch"),
    ],
)
def test_objective_rejects_bad_labels_with_the_value(labels, ks, message):
    with pytest.raises(ValueError, match=message):
        objective(labels, COLUMNS, ks=ks)


def test_mutual_info_rejects_vectors_of_different_length():
    with pytest.raises(ValueError, match="length mismatch"):
        mutual_info(np.zeros(3, dtype=int), np.zeros(4, dtype=int))


def test_objective_rejects_unknown_estimator():
    with pytest.raises(ValueError, match="unknown estimator 'bayes'"):
        objective(np.zeros((2, 4), dtype=int), COLUMNS, estimator="bayes")
