"""The state of a selection: contingency counts and running sums, saved and loaded.

A state knows its clusterings (names, ks) and pairs, holds the counts of the clips selected so
far and supports adding and removing clips in O(number of pairs). Saved with its counts only;
the running sums are recomputed exactly on load, so a long-lived state does not drift.
"""

from __future__ import annotations

import functools
import io
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from acav_assets.core.selection import kernels
from acav_assets.core.selection.kernels import Tables

if TYPE_CHECKING:  # fsspec costs 0.1 s to import; a selection that saves nothing skips it
    from acav_assets.core.storage import StorageRoot

STATE_FILE = "state.npz"


@functools.cache
def _xlogx_steps() -> np.ndarray:
    """The kernels' table of x ln x steps: computed once a process, shared read-only."""
    table = kernels.xlogx_steps(kernels.XLOGX_STEPS)
    table.flags.writeable = False
    return table


class SelectionState:
    """Counts of a selected set over clusterings ``columns`` with ``ks`` clusters and ``pairs``."""

    def __init__(self, columns: Sequence[str], ks: Sequence[int], pairs: Sequence[tuple[int, int]]):
        self.columns = list(columns)
        ks_arr = np.asarray(ks, dtype=np.int64)
        pairs_arr = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        sizes = ks_arr[pairs_arr[:, 0]] * ks_arr[pairs_arr[:, 1]]
        self.tables = Tables(
            pa=np.ascontiguousarray(pairs_arr[:, 0]),
            pb=np.ascontiguousarray(pairs_arr[:, 1]),
            ks=ks_arr,
            moff=np.concatenate([[0], np.cumsum(ks_arr)]).astype(np.int64),
            marg=np.zeros(int(ks_arr.sum()), dtype=np.int64),
            coff=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
            cells=np.zeros(int(sizes.sum()), dtype=np.int64),
            smarg=np.zeros(len(ks_arr), dtype=np.float64),
            scell=np.zeros(len(pairs_arr), dtype=np.float64),
            nzm=np.zeros(len(ks_arr), dtype=np.int64),
            nzc=np.zeros(len(pairs_arr), dtype=np.int64),
            n=np.zeros(1, dtype=np.int64),
            xlx=_xlogx_steps(),
        )

    @property
    def ks(self) -> list[int]:
        return self.tables.ks.tolist()

    @property
    def pairs(self) -> list[tuple[int, int]]:
        return list(zip(self.tables.pa.tolist(), self.tables.pb.tolist(), strict=True))

    @property
    def n(self) -> int:
        return int(self.tables.n[0])

    def marginal(self, j: int) -> np.ndarray:
        t = self.tables
        return t.marg[t.moff[j] : t.moff[j + 1]]

    def table(self, p: int) -> np.ndarray:
        """The contingency table of pair ``p`` (a view)."""
        t = self.tables
        return t.cells[t.coff[p] : t.coff[p + 1]].reshape(t.ks[t.pa[p]], t.ks[t.pb[p]])

    def objective(self, estimator_code: int = kernels.PLUGIN) -> float:
        """F of the current set from the running sums."""
        return float(kernels.objective_after(self.tables, _NO_LABELS, -1, 0, estimator_code))

    def add(self, labels: np.ndarray, clips: np.ndarray) -> None:
        """Add clips (rows of validated int32 ``labels``) to the set."""
        self._move(labels, clips, 1)

    def remove(self, labels: np.ndarray, clips: np.ndarray) -> None:
        """Remove clips that were added before; counts never go below zero."""
        self._move(labels, clips, -1)

    def _move(self, labels: np.ndarray, clips: np.ndarray, s: int) -> None:
        """Few clips: update the running sums clip by clip. Many (more count updates than
        four times the cells): count them, then sum every cell once, which is cheaper."""
        clips = np.ascontiguousarray(clips, dtype=np.int64)
        t = self.tables
        if len(clips) * (len(t.ks) + len(t.pa)) < 4 * (len(t.cells) + len(t.marg)):
            kernels.apply_clips(t, labels, clips, s)
        else:
            kernels.count_clips(t, labels, clips, s)
            kernels.recompute_sums(t)

    def recompute_sums(self) -> None:
        """Running sums and non-empty counts, exactly, from the counts."""
        kernels.recompute_sums(self.tables)

    def matches(self, columns: Sequence[str], ks: Sequence[int], pairs: Sequence) -> None:
        """Raise unless this state was built for the same clusterings and pairs."""
        if list(columns) != self.columns or list(ks) != self.ks or list(pairs) != self.pairs:
            raise ValueError(
                f"state is for columns={self.columns}, ks={self.ks}, pairs={self.pairs}; "
                f"got columns={list(columns)}, ks={list(ks)}, pairs={list(pairs)}"
            )

    def copy(self) -> SelectionState:
        new = SelectionState(self.columns, self.ks, self.pairs)
        for dst, src in zip(new.tables, self.tables, strict=True):
            if dst is not src:
                dst[...] = src
        return new

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        meta = {"columns": self.columns, "ks": self.ks, "pairs": self.pairs, "version": 1}
        np.savez(
            buf, meta=np.array(json.dumps(meta)), marg=self.tables.marg, cells=self.tables.cells
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> SelectionState:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            meta = json.loads(str(npz["meta"]))
            state = cls(meta["columns"], meta["ks"], [tuple(p) for p in meta["pairs"]])
            if npz["marg"].shape != state.tables.marg.shape or (
                npz["cells"].shape != state.tables.cells.shape
            ):
                raise ValueError("saved selection state does not match its own ks and pairs")
            state.tables.marg[:] = npz["marg"]
            state.tables.cells[:] = npz["cells"]
        state.recompute_sums()
        return state

    def save(self, root: StorageRoot, folder: str) -> str:
        """Write the state atomically to ``<folder>/state.npz``; returns its path."""
        path = root.path(folder, STATE_FILE)
        root.write_bytes(path, self.to_bytes())
        return path

    @classmethod
    def load(cls, root: StorageRoot, folder: str) -> SelectionState:
        return cls.from_bytes(root.read_bytes(root.path(folder, STATE_FILE)))


_NO_LABELS = np.zeros((1, 1), dtype=np.int32)
