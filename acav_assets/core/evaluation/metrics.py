"""Scores of a selection against the known correspondence of the controlled corpus.

``truth`` is bool ``(n_clips,)``, True where a clip's audio and visual channels correspond.
A selection is given as clip indices (an order, best first, or an unordered subset); the
paper's figure is the precision at the size of the true set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment


@dataclass(frozen=True)
class SelectionScores:
    """Precision, recall and F1 of one selection."""

    precision: float
    recall: float
    f1: float
    n_selected: int
    n_true: int
    n_true_selected: int

    def as_dict(self) -> dict[str, float | int]:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "n_selected": self.n_selected,
            "n_true": self.n_true,
            "n_true_selected": self.n_true_selected,
        }


def _check_truth(truth: np.ndarray) -> np.ndarray:
    truth = np.asarray(truth)
    if truth.ndim != 1 or truth.dtype != np.bool_:
        raise ValueError(f"truth must be a 1-d bool array, got shape {truth.shape} {truth.dtype}")
    return truth


def _check_indices(selected: Sequence[int] | np.ndarray, n: int, name: str) -> np.ndarray:
    idx = np.asarray(selected)
    if idx.size == 0:
        return np.zeros(0, dtype=np.int64)
    if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"{name} must be a 1-d array of clip indices, got {idx.shape} {idx.dtype}")
    if idx.min() < 0 or idx.max() >= n:
        bad = idx[(idx < 0) | (idx >= n)][0]
        raise ValueError(f"{name} holds index {int(bad)} outside [0, {n})")
    if np.unique(idx).size != idx.size:
        raise ValueError(f"{name} holds a clip index more than once")
    return idx.astype(np.int64)


def selection_scores(selected: Sequence[int] | np.ndarray, truth: np.ndarray) -> SelectionScores:
    """Precision = |selected and true| / |selected|, recall = |selected and true| / |true|,
    F1 their harmonic mean (0 where undefined)."""
    truth = _check_truth(truth)
    idx = _check_indices(selected, truth.size, "selected")
    hits = int(truth[idx].sum())
    n_true = int(truth.sum())
    precision = hits / idx.size if idx.size else 0.0
    recall = hits / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return SelectionScores(precision, recall, f1, int(idx.size), n_true, hits)


def precision_at_sizes(
    order: Sequence[int] | np.ndarray,
    truth: np.ndarray,
    sizes: Sequence[int] | np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Precision of the first ``s`` clips of ``order`` for each ``s`` in ``sizes`` (default:
    every size 1..len(order)); returns ``(sizes int64, precision float64)``."""
    truth = _check_truth(truth)
    idx = _check_indices(order, truth.size, "order")
    sizes_arr = (
        np.arange(1, idx.size + 1, dtype=np.int64)
        if sizes is None
        else np.asarray(sizes, dtype=np.int64)
    )
    if sizes_arr.size and (sizes_arr.min() < 1 or sizes_arr.max() > idx.size):
        raise ValueError(
            f"sizes must lie in [1, {idx.size}], got {sizes_arr.min()}..{sizes_arr.max()}"
        )
    hits = np.cumsum(truth[idx])
    return sizes_arr, hits[sizes_arr - 1] / sizes_arr


def mean_and_spread(values: Sequence[float] | np.ndarray) -> dict[str, float]:
    """Mean, sample standard deviation (0 for one value), min and max over seeds."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"need a non-empty 1-d list of values, got shape {arr.shape}")
    return {
        "mean": float(arr.mean()),
        "std": float(arr.std(ddof=1)) if arr.size > 1 else 0.0,
        "min": float(arr.min()),
        "max": float(arr.max()),
        "n": int(arr.size),
    }


def best_pairing_order(visual_class: np.ndarray, audio_class: np.ndarray) -> np.ndarray:
    """What a corpus lets any method find: the clips an oracle keeps that knows each clip's
    picture and sound class but not which pairing is true. It gives every picture class one
    sound, each sound to at most ceil(pictures / sounds) classes (the shape of the corpus
    rules: one-to-one, or two pictures a sound under xor), so that the pairing holds the most
    clips; then orders the clips of its cells largest cell first (ties to the lower picture
    class), then the rest in clip order. Where wrong sounds outnumber the true ones in the
    sample, a method that learns the pairing from co-occurrence is misled the same way, so
    precision of this order at the true size is the figure to hold acav and the baselines
    to (a method can pass it a little by keeping only part of a wrong cell)."""
    visual, audio = np.asarray(visual_class), np.asarray(audio_class)
    if visual.ndim != 1 or visual.shape != audio.shape:
        raise ValueError(
            f"need two 1-d class arrays of one length, got {visual.shape}, {audio.shape}"
        )
    if visual.size == 0:
        return np.zeros(0, dtype=np.int64)
    pictures, picture_of = np.unique(visual, return_inverse=True)
    sounds, sound_of = np.unique(audio, return_inverse=True)
    counts = np.zeros((pictures.size, sounds.size), dtype=np.int64)
    np.add.at(counts, (picture_of, sound_of), 1)
    capacity = -(-pictures.size // sounds.size)
    rows, slots = linear_sum_assignment(np.tile(counts, capacity), maximize=True)
    chosen = slots % sounds.size
    kept = counts[rows, chosen]
    rank = np.full(counts.shape, rows.size)
    rank[rows, chosen] = np.argsort(np.lexsort((rows, -kept)))
    return np.argsort(rank[picture_of, sound_of], kind="stable").astype(np.int64)
