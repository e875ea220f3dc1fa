"""How many candidates correspond, estimated from the data, and each clip's contribution to F.

Why: users do not know how many of their clips have matching sound and picture, so a budget
given up front is a guess. Backward elimination traces F(m), the objective of the best set of
each size m it passes through. Part of that rise is real (non-corresponding clips leave) and
part is fitting noise (any m clips of k x k tables can be chosen to look dependent). The same
elimination on the same labels with the audio rows shuffled, so that no clip corresponds,
traces the noise part F0(m) alone. The gap F(m) - F0(m) grows while dropped clips are
mostly non-corresponding and shrinks once corresponding ones go. Near its top it is flat:
the last non-corresponding clips sit in cells that look corresponding, so dropping them buys
about as much as fitting noise does, and the argmax lands far from the truth on small
corpora (on the family's 10-class corpora of about 210 clips 0.06-0.10 above the true
share) while it is right on large ones. How flat is flat is the noise of the shuffled
eliminations themselves: the estimate is the smallest size whose gap is within NOISE_WIDTH
of their standard deviation (at the widest gap) of the widest gap, so the plateau is wide
where few clips make the traces noisy and narrow where many do not. Its range over the
shuffles, each read the same way, is the uncertainty.

The contribution of a clip x to a set S is the change of the set's total information n F
(n clips times F) between S without x and S with x: for a kept clip what removing it alone
loses, for a dropped one what adding it alone gains. It is the pointwise MI of the clip's
cells averaged over the pairs, exactly, so it reads on one scale for every set: positive for
a clip whose sound and picture fall in cells that co-occur more than by chance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from acav_assets.core.selection.options import SelectionOptions
from acav_assets.core.selection.pairing import (
    Pairing,
    check_estimator,
    check_labels,
    parse_column,
    resolve_pairs,
    strategy_columns,
)
from acav_assets.core.selection.scoring import cell_index, objectives_after
from acav_assets.core.selection.search import backward_eliminate
from acav_assets.core.selection.state import SelectionState

# Elimination stops at this share of the candidates: the estimate is never below it.
FLOOR_SHARE = 0.02
# Below this many candidates an estimate is not attempted (the peak is noise).
MIN_CANDIDATES = 20
# The plateau of the gap, in standard deviations of the shuffled eliminations at the widest
# gap. Chosen by the worst share error over the family's corpora (RESULTS.md "Auto size"):
# the earlier plateau, a fixed 0.03 of the widest gap, missed the true share by up to 0.058
# (0.8 corresponding: it fell short; small half-swapped corpora: it overshot); 0.5 sd, 0.038.
NOISE_WIDTH = 0.5


@dataclass(frozen=True)
class SizeEstimate:
    """The estimated share of corresponding candidates (``share``, its range over the
    shuffles ``low``..``high``), the size it gives, and the traces it was read from
    (``sizes``, F, the mean shuffled F and its standard deviation at each size)."""

    share: float
    low: float
    high: float
    size: int
    candidates: int
    shuffles: int
    sizes: np.ndarray
    trace: np.ndarray
    null_trace: np.ndarray
    null_spread: np.ndarray

    def summary(self) -> dict[str, float | int]:
        """The numbers a person reads: share, its range, the size and the candidates."""
        return {
            "estimated_share": round(self.share, 4),
            "share_low": round(self.low, 4),
            "share_high": round(self.high, 4),
            "estimated_size": self.size,
            "candidates": self.candidates,
        }


def elimination_trace(
    labels: np.ndarray,
    ks: np.ndarray,
    pairs: list[tuple[int, int]],
    columns: Sequence[str],
    estimator_code: int,
    floor: int,
    chunk: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Sizes and F after each round of backward elimination from every row down to
    ``floor`` rows (validated int32 ``labels``)."""
    n = labels.shape[0]
    state = SelectionState(columns, ks, pairs)
    sizes = [n]
    total = max(n - floor, 0)
    _, trace = backward_eliminate(
        state, labels, np.arange(n, dtype=np.int64), floor, estimator_code, chunk,
        progress=lambda done, _total: sizes.append(n - done),
    )  # fmt: skip
    if len(sizes) != len(trace) or sizes[-1] != n - total:
        raise RuntimeError(f"elimination reported {len(sizes)} sizes for {len(trace)} rounds")
    return np.asarray(sizes, dtype=np.int64), np.asarray(trace, dtype=np.float64)


def plateau_size(sizes: np.ndarray, gap: np.ndarray, tolerance: float) -> int:
    """The smallest size whose gap is within ``tolerance`` of the widest gap."""
    return int(sizes[gap >= gap.max() - tolerance].min())


def estimate_share(
    labels: np.ndarray,
    columns: Sequence[str],
    ks: Sequence[int] | None = None,
    *,
    strategy: str = SelectionOptions.strategy,
    pairing: Pairing = SelectionOptions.pairing,
    estimator: str = SelectionOptions.estimator,
    seed: int = SelectionOptions.seed,
    shuffles: int = SelectionOptions.auto_shuffles,
    chunk: float = 0.01,
) -> SizeEstimate:
    """Estimate the share of the rows of ``labels`` whose audio and visual clusters
    correspond, from the plateau of F(m) - F0(m) (see the module docstring)."""
    code = check_estimator(estimator)
    if shuffles < 2:
        raise ValueError(f"shuffles must be >= 2 (their spread sizes the plateau), got {shuffles}")
    labels, columns, ks = strategy_columns(strategy, labels, columns, ks)
    arr, ks_arr = check_labels(labels, columns, ks)
    n = arr.shape[0]
    if n < MIN_CANDIDATES:
        raise ValueError(
            f"{n} candidates are too few to estimate how many correspond (need "
            f"{MIN_CANDIDATES}); give a size or a ratio"
        )
    pairs = resolve_pairs(columns, pairing)
    audio = [i for i, c in enumerate(columns) if parse_column(c)[0] == "audio"]
    floor = max(2, int(np.ceil(FLOOR_SHARE * n)))
    sizes, trace = elimination_trace(arr, ks_arr, pairs, columns, code, floor, chunk)
    rng = np.random.default_rng(seed)
    nulls = []
    for _ in range(shuffles):
        shuffled = arr.copy()
        shuffled[:, audio] = arr[rng.permutation(n)][:, audio]
        null_sizes, null = elimination_trace(shuffled, ks_arr, pairs, columns, code, floor, chunk)
        if not np.array_equal(null_sizes, sizes):
            raise RuntimeError("the shuffled elimination passed through other sizes")
        nulls.append(null)
    null_trace, spread = np.mean(nulls, axis=0), np.std(nulls, axis=0, ddof=1)
    tolerance = NOISE_WIDTH * float(spread[np.argmax(trace - null_trace)])
    peak = plateau_size(sizes, trace - null_trace, tolerance)
    singles = [plateau_size(sizes, trace - null, tolerance) for null in nulls]
    return SizeEstimate(
        share=peak / n,
        low=min(singles + [peak]) / n,
        high=max(singles + [peak]) / n,
        size=peak,
        candidates=n,
        shuffles=shuffles,
        sizes=sizes,
        trace=trace,
        null_trace=null_trace,
        null_spread=spread,
    )


def contributions(
    labels: np.ndarray,
    columns: Sequence[str],
    selected: np.ndarray,
    ks: Sequence[int] | None = None,
    *,
    strategy: str = SelectionOptions.strategy,
    pairing: Pairing = SelectionOptions.pairing,
    estimator: str = SelectionOptions.estimator,
) -> np.ndarray:
    """``|S + x| F(S + x) - |S - x| F(S - x)`` for every row x of ``labels``, S the rows
    ``selected``: float64 ``(n_rows,)``, positive where a clip carries information."""
    code = check_estimator(estimator)
    labels, columns, ks = strategy_columns(strategy, labels, columns, ks)
    arr, ks_arr = check_labels(labels, columns, ks)
    n = arr.shape[0]
    selected = np.asarray(selected, dtype=np.int64)
    inside = np.zeros(n, dtype=bool)
    inside[selected] = True
    if inside.sum() != len(selected):
        raise ValueError("selected rows repeat")
    state = SelectionState(columns, ks_arr, resolve_pairs(columns, pairing))
    state.add(arr, selected)
    size, total = len(selected), len(selected) * state.objective(code)
    rows, out = np.arange(n, dtype=np.int64), np.zeros(n, dtype=np.float64)
    if inside.any():
        cells = cell_index(state.tables, arr, rows[inside])
        after = objectives_after(state.tables, cells, -1, code)
        out[inside] = total - (size - 1) * after
    if (~inside).any():
        cells = cell_index(state.tables, arr, rows[~inside])
        after = objectives_after(state.tables, cells, 1, code)
        out[~inside] = (size + 1) * after - total
    return out
