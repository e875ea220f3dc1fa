"""The searches of the objective, by name: one class per strategy, one line in ``STRATEGIES``.

A strategy gets the selector (its settings), the state of the set, the validated labels, the
candidate rows and the target size, and returns the picks in rank order with the objective
trace. The CLI, the config, the validation and the report take the names and the meaning of a
trace step from here, so adding a search is a class and a registry line. The searches load
their numba kernels only when they run.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

import numpy as np

if TYPE_CHECKING:
    from acav_assets.core.selection.greedy import BatchGreedySelector
    from acav_assets.core.selection.state import SelectionState

Progress = Callable[[int, int], None] | None
Result = tuple[np.ndarray, np.ndarray]


class Strategy(ABC):
    """One way to search F over the candidates."""

    name: ClassVar[str]
    trace_steps: ClassVar[str]  # what one entry of the objective trace is, for the report

    @abstractmethod
    def search(
        self,
        selector: BatchGreedySelector,
        state: SelectionState,
        labels: np.ndarray,
        candidates: np.ndarray,
        target: int,
        estimator: int,
        progress: Progress,
    ) -> Result:
        """The picks (rows of ``labels``, best first) and F after each step."""


class Forward(Strategy):
    """The paper's batch greedy (Chen & Krause 2013), or exact greedy with ``exact``."""

    name = "forward"
    trace_steps = "selected clips"

    def search(self, selector, state, labels, candidates, target, estimator, progress):
        from acav_assets.core.selection.search import forward_greedy

        return forward_greedy(
            state, labels, candidates, target, estimator,
            exact=selector.exact, batch_size=selector.batch_size, top_k=selector.top_k,
            keep_unselected=selector.keep_unselected, seed=selector.seed, progress=progress,
        )  # fmt: skip


class Backward(Strategy):
    """Everything in, then the clips whose removal leaves the highest F dropped in rounds."""

    name = "backward"
    trace_steps = "elimination rounds"

    def search(self, selector, state, labels, candidates, target, estimator, progress):
        from acav_assets.core.selection.search import backward_eliminate

        chunk, band = (
            (0.0, 1.0) if selector.exact else (selector.backward_chunk, selector.backward_band)
        )
        order, trace = backward_eliminate(
            state, labels, candidates, target, estimator, chunk, band, progress
        )
        return order, np.asarray(trace, dtype=np.float64)


class _Swapped(Strategy):
    """A search, then swap rounds that trade picked clips for better ones at the same size."""

    first: ClassVar[type[Strategy]]

    def search(self, selector, state, labels, candidates, target, estimator, progress):
        from acav_assets.core.selection.search import swap_refine

        order, trace = self.first().search(
            selector, state, labels, candidates, target, estimator, progress
        )
        outside = np.setdiff1d(candidates, order, assume_unique=True)
        chunk, band = (0.0, 1.0) if selector.exact else (selector.swap_chunk, selector.swap_band)
        order, swaps = swap_refine(
            state, labels, order, outside, estimator, selector.swap_rounds, chunk, band
        )
        return order, np.concatenate([trace, np.asarray(swaps, dtype=np.float64)])


class ForwardSwap(_Swapped):
    name = "forward+swap"
    trace_steps = "selected clips, then swap rounds"
    first = Forward


class BackwardSwap(_Swapped):
    name = "backward+swap"
    trace_steps = "elimination rounds, then swap rounds"
    first = Backward


STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (Forward, Backward, ForwardSwap, BackwardSwap)
}
