"""Select the clips whose clusterings share the most audio-visual information.

``BatchGreedySelector`` maximises F(S), the mean over clustering pairs of the MI of their
contingency tables on S. Forward search is batch greedy (Chen & Krause 2013): each step draws
``batch_size`` clips from the pool in O(batch_size), adds the ``top_k`` best and returns the
rest; ``exact=True`` scores the whole pool each step instead. ``strategy="backward"`` and
``"forward+swap"`` search the same objective harder (see ``search.py``); ``"ensemble"`` is
backward elimination over every clustering of the ensemble (each layer at several k and k-means
seeds), where the other strategies use each layer's own clustering only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import numpy as np

from acav_assets.core.selection import kernels
from acav_assets.core.selection.options import SelectionOptions
from acav_assets.core.selection.pairing import (
    Pairing,
    check_estimator,
    check_labels,
    resolve_pairs,
    strategy_columns,
)
from acav_assets.core.selection.search import backward_eliminate, swap_refine
from acav_assets.core.selection.state import SelectionState

log = logging.getLogger(__name__)

STRATEGIES = ("forward", "backward", "forward+swap", "ensemble")
_STEPS_PER_CALL = 2048


class BatchGreedySelector:
    """Pick ``n_select`` clips (or ``ratio`` of the candidates) maximising F.

    Fitted attributes: ``order_`` (candidate rows, first picked first), ``objective_trace_``
    (F after each added clip for forward search; after each round for backward elimination
    and swap rounds), ``objective_`` (F of the final set, including any prior state),
    ``pairs_`` (column-name pairs), ``ks_``, ``state_`` (a :class:`SelectionState` that
    ``fit(..., state=...)`` continues from), ``seconds_``.
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
        swap_rounds: int = 20,
        swap_chunk: float = 0.01,
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
        self.swap_rounds = swap_rounds
        self.swap_chunk = swap_chunk

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
            raise ValueError(f"unknown strategy {self.strategy!r}: use one of {STRATEGIES}")
        for name in ("batch_size", "top_k"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("backward_chunk", "swap_chunk"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)!r}")
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
        labels, columns, ks = strategy_columns(self.strategy, labels, columns, ks)
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
        if self.strategy in ("backward", "ensemble"):
            chunk = 0.0 if self.exact else self.backward_chunk
            order, trace = backward_eliminate(state, arr, candidates, target, est, chunk, progress)
        else:
            order, trace, pool = self._forward(state, arr, candidates, target, est, progress)
            if self.strategy == "forward+swap":
                outside = np.setdiff1d(candidates, order, assume_unique=True)
                chunk = 0.0 if self.exact else self.swap_chunk
                order, swaps = swap_refine(state, arr, order, outside, est, self.swap_rounds, chunk)
                trace = np.concatenate([trace, swaps])
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

    def _forward(
        self,
        state: SelectionState,
        labels: np.ndarray,
        candidates: np.ndarray,
        target: int,
        est: int,
        progress: Callable[[int, int], None] | None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Forward greedy, exact or batched, in chunks of steps; returns order, trace, pool."""
        pool = candidates.copy()
        order = np.empty(target, dtype=np.int64)
        trace = np.empty(target, dtype=np.float64)
        out = (order, trace, np.zeros(1, dtype=np.int64))
        rng = np.random.default_rng(self.seed)
        m_pool, remaining, batch = len(pool), target, int(self.batch_size)
        while remaining > 0 and m_pool > 0:
            before = out[2][0]
            if self.exact:
                m_pool = kernels.forward_exact(
                    state.tables, labels, est, pool, m_pool, min(remaining, 256), out
                )
                remaining = target - out[2][0]
            else:
                u = rng.random(_STEPS_PER_CALL * batch)
                m_pool, remaining = kernels.forward_batch(
                    state.tables, labels, est, pool, m_pool, u, _STEPS_PER_CALL,
                    batch, int(self.top_k), bool(self.keep_unselected), remaining, out,
                )  # fmt: skip
            if progress is not None and out[2][0] > before:
                progress(int(out[2][0]), target)
        done = int(out[2][0])
        if done < target:
            log.warning(
                "pool ran out after %d of %d clips (keep_unselected=False drops each batch's "
                "rest)", done, target,
            )  # fmt: skip
        return order[:done], trace[:done], pool[:m_pool]
