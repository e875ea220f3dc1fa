"""Which clusterings are paired, and the one place where label arrays are validated.

Columns are named ``audio_<layer>`` or ``visual_<layer>``; a clustering of the ensemble (the
same layer at another k or k-means seed) is ``<modality>_<layer>.k<k>s<seed>``. A pairing is
``bipartite`` (every audio x visual pair, our default), ``combination`` (every pair of
clusterings, ACAV's default), ``diagonal`` (audio and visual of the same layer) or an explicit
list of column-name pairs.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

import numpy as np

from acav_assets.core.selection.strategies import STRATEGIES

PAIRINGS = ("bipartite", "combination", "diagonal")
ESTIMATORS = ("plugin", "miller_madow", "adjusted")
Pairing = str | Sequence[tuple[str, str]]

_COLUMN = re.compile(r"^(audio|visual)_([A-Za-z0-9_.\-]+)$")


def parse_column(name: str) -> tuple[str, str]:
    """``"audio_3"`` -> ``("audio", "3")``; anything else is an error naming the column."""
    match = _COLUMN.match(name)
    if not match:
        raise ValueError(
            f"column {name!r} is not a clustering: name it audio_<layer> or visual_<layer>"
        )
    return match.group(1), match.group(2)


def variant_column(modality: str, layer: int | str, k: int, seed: int) -> str:
    """The name of the ensemble's clustering of ``layer`` at ``k`` with k-means ``seed``."""
    return f"{modality}_{layer}.k{k}s{seed}"


def is_primary(column: str) -> bool:
    """Whether ``column`` is a layer's own clustering (not one of the ensemble's variants)."""
    return "." not in parse_column(column)[1]


def column_layer(column: str) -> str:
    """The layer a clustering (primary or variant) was fitted on: ``"audio_3.k8s1"`` -> ``"3"``."""
    return parse_column(column)[1].split(".", 1)[0]


def strategy_columns(
    strategy: str, labels: np.ndarray, columns: Sequence[str], ks: Sequence[int] | None
) -> tuple[np.ndarray, list[str], list[int] | None]:
    """The clusterings a strategy searches over: every one for a strategy that searches the
    ensemble (``Strategy.ensemble``), each layer's own for the others (a table of primary
    columns only is kept whole)."""
    columns = list(columns)
    every = strategy in STRATEGIES and STRATEGIES[strategy].ensemble
    keep = [i for i, c in enumerate(columns) if every or is_primary(c)]
    if len(keep) == len(columns):
        return labels, columns, None if ks is None else list(ks)
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.shape[1] != len(columns):
        return labels, columns, None if ks is None else list(ks)  # check_labels names it
    if ks is not None and len(ks) != len(columns):
        return labels, columns, list(ks)
    return (
        labels[:, keep],
        [columns[i] for i in keep],
        None if ks is None else [int(ks[i]) for i in keep],
    )


def resolve_pairs(columns: Sequence[str], pairing: Pairing) -> list[tuple[int, int]]:
    """Column-index pairs for a pairing; an empty result is an error."""
    columns = list(columns)
    if len(set(columns)) != len(columns):
        raise ValueError(f"duplicate column names in {columns}")
    if isinstance(pairing, str):
        if pairing not in PAIRINGS:
            raise ValueError(
                f"unknown pairing {pairing!r}: use one of {', '.join(PAIRINGS)} "
                "or a list of (column, column) pairs"
            )
        if pairing == "combination":
            pairs = list(itertools.combinations(range(len(columns)), 2))
        else:
            parsed = [parse_column(c) for c in columns]
            audio = [i for i, (m, _) in enumerate(parsed) if m == "audio"]
            visual = [i for i, (m, _) in enumerate(parsed) if m == "visual"]
            pairs = [
                (a, v)
                for a in audio
                for v in visual
                if pairing == "bipartite" or parsed[a][1] == parsed[v][1]
            ]
    else:
        index = {c: i for i, c in enumerate(columns)}
        pairs = []
        for pair in pairing:
            if len(pair) != 2 or any(c not in index for c in pair):
                raise ValueError(f"pair {pair!r} does not name two of the columns {columns}")
            pairs.append((index[pair[0]], index[pair[1]]))
    if not pairs:
        raise ValueError(f"pairing {pairing!r} gives no pairs of clusterings for {columns}")
    return pairs


def check_estimator(estimator: str) -> int:
    """The kernel code of an estimator name."""
    if estimator not in ESTIMATORS:
        raise ValueError(f"unknown estimator {estimator!r}: use one of {', '.join(ESTIMATORS)}")
    return ESTIMATORS.index(estimator)


def check_labels(
    labels: np.ndarray, columns: Sequence[str], ks: Sequence[int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Validated labels as C-contiguous int32 ``(n_clips, n_clusterings)`` and ks as int64.

    Without ``ks`` each clustering has ``max label + 1`` clusters. Errors name the column, the
    row and the value: NaN, non-integers, negatives, labels >= k, a column count mismatch.
    """
    arr = np.asarray(labels)
    if arr.ndim != 2:
        raise ValueError(f"labels must be 2-D (n_clips, n_clusterings), got shape {arr.shape}")
    if arr.shape[1] != len(columns):
        raise ValueError(
            f"length mismatch: {len(columns)} column names for labels with {arr.shape[1]} "
            "clusterings"
        )
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise ValueError(f"label {arr[row, col]} (not finite) in column {columns[col]!r}")
        frac = arr != np.round(arr)
        if frac.any():
            row, col = np.argwhere(frac)[0]
            raise ValueError(f"label {arr[row, col]} is not an integer in {columns[col]!r}")
    elif arr.dtype.kind not in "iub":
        raise TypeError(f"labels must be integers, got dtype {arr.dtype}")
    if arr.size and arr.min() < 0:
        row, col = np.argwhere(arr < 0)[0]
        raise ValueError(
            f"negative label {arr[row, col]} in column {columns[col]!r} (row {row}); "
            "labels are cluster ids 0..k-1"
        )
    top = arr.max(axis=0) if arr.shape[0] else np.full(arr.shape[1], -1)
    if ks is None:
        ks_arr = np.maximum(top.astype(np.int64) + 1, 1)
    else:
        ks_arr = np.asarray(ks, dtype=np.int64)
        if ks_arr.shape != (arr.shape[1],):
            raise ValueError(f"length mismatch: {len(ks_arr)} ks for {arr.shape[1]} clusterings")
        if (ks_arr < 1).any():
            raise ValueError(f"every k must be >= 1, got ks={ks_arr.tolist()}")
        over = np.flatnonzero(top >= ks_arr)
        if over.size:
            col = int(over[0])
            row = int(np.argmax(arr[:, col] >= ks_arr[col]))
            raise ValueError(
                f"label {arr[row, col]} in column {columns[col]!r} (row {row}) is out of range "
                f"for k={ks_arr[col]}"
            )
    if ks_arr.max(initial=0) > np.iinfo(np.int32).max:
        raise ValueError(f"k too large: {ks_arr.max()}")
    return np.ascontiguousarray(arr, dtype=np.int32), ks_arr
