"""Select the clips whose clusterings share the most audio-visual information.

``BatchGreedySelector`` maximises F(S), the mean over clustering pairs of the MI of their
contingency tables on S, with the search named by ``strategy`` (``strategies.py``: forward
batch greedy as in the paper, backward elimination, and either followed by swap rounds).
``exact=True`` scores every candidate at every step instead of the batch trick.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import numpy as np

from acav_assets.core.selection.options import SelectionOptions
from acav_assets.core.selection.pairing import (
    Pairing,
    check_estimator,
    check_labels,
    resolve_pairs,
)
from acav_assets.core.selection.state import SelectionState
from acav_assets.core.selection.strategies import STRATEGIES

log = logging.getLogger(__name__)


class BatchGreedySelector:
    """Pick ``n_select`` clips (or ``ratio`` of the candidates) maximising F.

    Fitted attributes: ``order_`` (candidate rows, first picked first), ``objective_trace_``
    (F after each added clip for forward search; after each round for backward elimination
    and swap rounds), ``objective_`` (F of the final set, including any prior state),
    ``pairs_`` (column-name pairs), ``ks_``, ``state_`` (a :class:`SelectionState` that
    ``fit(..., state=...)`` continues from), ``seconds_``.

    Backward elimination drops ``backward_chunk`` of the alive clips a round and re-scores
    only the ``backward_band`` of them nearest the cut between full passes (1: all, every
    round). Band 0.1 was chosen as the worst case over a family of planted corpora: its
    objective stays within the spread that moving the chunk by 1% gives the full search, at
    about half its cost (benchmarks/RESULTS.md). Swap rounds re-score the ``swap_band``
    likeliest swaps on each side in the same way (0.05 by the same family).
    """

    def __init__(
        self,
        n_select: int | None = None,
        ratio: float | None = None,
        pairing: Pairing = SelectionOptions.pairing,
        batch_size: int = SelectionOptions.batch_size,
        top_k: int = SelectionOptions.top_k,
        strategy: str = SelectionOptions.strategy,
        estimator: str = SelectionOptions.estimator,
        exact: bool = False,
        keep_unselected: bool = True,
        seed: int = SelectionOptions.seed,
        backward_chunk: float = 0.01,
        backward_band: float = 0.1,
        swap_rounds: int = 20,
        swap_chunk: float = 0.01,
        swap_band: float = 0.05,
    ) -> None:
        self.n_select = n_select
        self.ratio = ratio
        self.pairing = pairing
        self.batch_size = batch_size
        self.top_k = top_k
        self.strategy = strategy
        self.estimator = estimator
        self.exact = exact
        self.keep_unselected = keep_unselected
        self.seed = seed
        self.backward_chunk = backward_chunk
        self.backward_band = backward_band
        self.swap_rounds = swap_rounds
        self.swap_chunk = swap_chunk
        self.swap_band = swap_band

    def _target(self, n_candidates: int) -> int:
        if (self.n_select is None) == (self.ratio is None):
            raise ValueError(
                f"give exactly one of n_select or ratio (got {self.n_select}, {self.ratio})"
            )
        if self.ratio is not None:
            if not 0.0 <= float(self.ratio) <= 1.0:
                raise ValueError(f"ratio must be in [0, 1], got {self.ratio}")
            target = int(round(float(self.ratio) * n_candidates))
        else:
            if int(self.n_select) != self.n_select or self.n_select < 0:
                raise ValueError(f"n_select must be a non-negative integer, got {self.n_select}")
            target = int(self.n_select)
        return min(target, n_candidates)

    def _check_config(self) -> int:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {self.strategy!r}: use one of {list(STRATEGIES)}")
        for name in ("batch_size", "top_k"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("backward_chunk", "swap_chunk"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)!r}")
        for name in ("backward_band", "swap_band"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {getattr(self, name)!r}")
        return check_estimator(self.estimator)

    def fit(
        self,
        labels: np.ndarray,
        columns: Sequence[str],
        ks: Sequence[int] | None = None,
        state: SelectionState | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> BatchGreedySelector:
        """Select among the rows of ``labels`` int64 ``(n_clips, n_clusterings)``.

        ``columns`` name the clusterings (``audio_<layer>``, ``visual_<layer>``). With
        ``state``, the clips it holds stay selected and the new candidates extend them (the
        state is copied, not changed). ``progress(done, total)`` is called now and then.
        """
        start = time.perf_counter()
        est = self._check_config()
        if state is not None and ks is None:
            ks = state.ks
        arr, ks_arr = check_labels(labels, columns, ks)
        pairs = resolve_pairs(columns, self.pairing)
        if state is None:
            state = SelectionState(columns, ks_arr, pairs)
        else:
            state.matches(columns, ks_arr.tolist(), pairs)
            state = state.copy()
        n = arr.shape[0]
        target = self._target(n)
        candidates = np.arange(n, dtype=np.int64)
        order, trace = STRATEGIES[self.strategy]().search(
            self, state, arr, candidates, target, est, progress
        )
        self.order_ = np.asarray(order, dtype=np.int64)
        self.objective_trace_ = np.asarray(trace, dtype=np.float64)
        self.objective_ = state.objective(est)
        self.pairs_ = [(columns[a], columns[b]) for a, b in pairs]
        self.ks_ = ks_arr.tolist()
        self.state_ = state
        self.n_candidates_ = n
        self.seconds_ = time.perf_counter() - start
        log.info(
            "selected %d of %d candidates (%s, %d pairs): F=%.6f in %.2fs",
            len(self.order_), n, self.strategy, len(pairs), self.objective_, self.seconds_,
        )  # fmt: skip
        return self
