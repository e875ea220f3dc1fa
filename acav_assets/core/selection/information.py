"""Mutual information of two clusterings, and the objective F of a set, from scratch.

These are the slow, obvious definitions: the greedy engine keeps running sums instead, and its
tests compare the two. All values are in nats.

- ``plugin``: the empirical MI of the contingency table (equals scikit-learn's
  ``mutual_info_score``).
- ``miller_madow``: plug-in MI plus the Miller-Madow bias terms of the three entropies in their
  occupancy form, ``((r - 1) + (c - 1) - (m - 1)) / 2n`` with ``r``, ``c``, ``m`` the non-empty
  rows, columns and cells. (Not the ``(r - 1)(c - 1) / 2n`` shortcut, which under forward
  greedy pulls the selection onto a few clusters.)
- ``adjusted``: scikit-learn's adjusted MI (arithmetic mean), ``(MI - E[MI]) / (mean H - E[MI])``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from acav_assets.core.selection.kernels import _adjusted, expected_mi
from acav_assets.core.selection.options import SelectionOptions
from acav_assets.core.selection.pairing import (
    Pairing,
    check_estimator,
    check_labels,
    resolve_pairs,
)


def contingency(a: np.ndarray, b: np.ndarray, ka: int, kb: int) -> np.ndarray:
    """The ``ka``-by-``kb`` table of counts of (a, b) label pairs; inputs assumed valid."""
    flat = np.asarray(a, dtype=np.int64) * kb + np.asarray(b, dtype=np.int64)
    return np.bincount(flat, minlength=ka * kb).reshape(ka, kb)


def _xlogx_sum(counts: np.ndarray) -> float:
    c = counts[counts > 0].astype(np.float64)
    return float(np.sum(c * np.log(c)))


def table_mutual_info(table: np.ndarray, estimator: str = SelectionOptions.estimator) -> float:
    """MI of a contingency table of counts (nats); 0 for an empty table."""
    check_estimator(estimator)
    table = np.asarray(table, dtype=np.int64)
    n = int(table.sum())
    if n == 0:
        return 0.0
    rows, cols = table.sum(axis=1), table.sum(axis=0)
    nz = table > 0
    outer = np.outer(rows, cols)[nz].astype(np.float64)
    mi = float(np.sum(table[nz] / n * (np.log(n * table[nz].astype(np.float64)) - np.log(outer))))
    nza, nzb = int((rows > 0).sum()), int((cols > 0).sum())
    if estimator == "miller_madow":
        mi += ((nza - 1) + (nzb - 1) - (int(nz.sum()) - 1)) / (2.0 * n)
    elif estimator == "adjusted":
        marg = np.concatenate([rows, cols]).astype(np.int64)
        ka = len(rows)
        emi = expected_mi(marg, 0, ka, ka, len(cols), n, -1, -1, 0)
        ha = np.log(n) - _xlogx_sum(rows) / n
        hb = np.log(n) - _xlogx_sum(cols) / n
        mi = float(_adjusted(mi, ha, hb, emi, nza, nzb))
    return mi


def mutual_info(
    a: np.ndarray,
    b: np.ndarray,
    ka: int | None = None,
    kb: int | None = None,
    estimator: str = SelectionOptions.estimator,
) -> float:
    """MI (nats) between two label vectors ``a`` and ``b`` of one set of clips."""
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"length mismatch: label vectors of shapes {a.shape} and {b.shape}")
    ks = None if ka is None and kb is None else [ka, kb]
    if ks is not None and None in ks:
        raise ValueError("give both ka and kb, or neither")
    labels, ks_arr = check_labels(np.stack([a, b], axis=1), ["a", "b"], ks)
    table = contingency(labels[:, 0], labels[:, 1], int(ks_arr[0]), int(ks_arr[1]))
    return table_mutual_info(table, estimator)


def objective(
    labels: np.ndarray,
    columns: Sequence[str],
    pairing: Pairing = SelectionOptions.pairing,
    estimator: str = SelectionOptions.estimator,
    ks: Sequence[int] | None = None,
) -> float:
    """F of a set: the mean over clustering pairs of the MI of their table (0 when empty)."""
    check_estimator(estimator)
    arr, ks_arr = check_labels(labels, columns, ks)
    pairs = resolve_pairs(columns, pairing)
    values = [
        table_mutual_info(
            contingency(arr[:, a], arr[:, b], int(ks_arr[a]), int(ks_arr[b])), estimator
        )
        for a, b in pairs
    ]
    return float(np.mean(values))
