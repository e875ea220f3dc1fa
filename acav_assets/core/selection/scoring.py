"""Score many clips against one state: the objective after adding or removing each one alone.

Why a table per cell: the objective after moving clip x depends on x only through the cell it
occupies in each pair (that cell's row and column are its two marginals). So the MI of every
pair after moving one clip of each cell is computed once per state, O(cells), and a clip's
score is the mean of one lookup a pair. The expressions are those of
``kernels.objective_after_cached`` (with a product by 1 / n for the quotient by n), summed in
the same order.

Backward elimination keeps, for every alive clip, the flat index of its cell in each pair
(``cell_index``: uint16 while the tables have at most 65,536 cells), so a scoring pass streams
one short row a clip and does no index arithmetic. Like ``kernels``, the compiled functions
assume valid input.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, uint64

from acav_assets.core.selection.kernels import (
    ADJUSTED,
    MILLER_MADOW,
    Tables,
    _adjusted,
    _dnonzero,
    _dxlogx,
    expected_mi,
)

_BINS = 4096


@njit(cache=True)
def cell_objectives(t, s, est, need, out):
    """``out[c]``: MI of the pair owning cell c after moving one clip of that cell by ``s``.

    Cells that cannot hold the moved clip (empty ones when s = -1) are skipped, and so are the
    cells with ``need[c]`` false under the adjusted estimator, whose expected MI is costly;
    ``out`` keeps its values there. An empty set after the move has objective 0. The plug-in
    part is one tight loop over a row of cells; the estimators' corrections are a second one.
    """
    n1 = t.n[0] + s
    if n1 <= 0:
        out[:] = 0.0
        return
    logn = math.log(n1)
    inv = 1.0 / n1
    kmax = 0
    for k in t.ks:
        kmax = max(kmax, k)
    sbs = np.empty(kmax, dtype=np.float64)
    nzbs = np.empty(kmax, dtype=np.int64)
    xlx = t.xlx
    cells = t.cells
    for p in range(t.pa.shape[0]):
        a = t.pa[p]
        b = t.pb[p]
        ka = t.ks[a]
        kb = t.ks[b]
        oa = t.moff[a]
        ob = t.moff[b]
        scell = t.scell[p]
        for rb in range(kb):
            cb = t.marg[ob + rb]
            sbs[rb] = t.smarg[b] + _dxlogx(xlx, cb, s)
            nzbs[rb] = t.nzm[b] + _dnonzero(cb, s)
        for ra in range(ka):
            ca = t.marg[oa + ra]
            if s < 0 and ca == 0:
                continue
            sa = t.smarg[a] + _dxlogx(xlx, ca, s)
            row = t.coff[p] + ra * kb
            for rb in range(kb):
                cc = cells[row + rb]
                if s > 0 or cc > 0:
                    sc = scell + _dxlogx(xlx, cc, s)
                    out[row + rb] = (sc - sa - sbs[rb]) * inv + logn
            if est == MILLER_MADOW or est == ADJUSTED:
                nza = t.nzm[a] + _dnonzero(ca, s)
                for rb in range(kb):
                    c = row + rb
                    cc = cells[c]
                    if (s < 0 and cc == 0) or (est == ADJUSTED and not need[c]):
                        continue
                    if est == MILLER_MADOW:
                        nzc = t.nzc[p] + _dnonzero(cc, s)
                        out[c] += ((nza - 1) + (nzbs[rb] - 1) - (nzc - 1)) * (0.5 * inv)
                    else:
                        emi = expected_mi(t.marg, oa, ka, ob, kb, n1, ra, rb, s)
                        out[c] = _adjusted(
                            out[c], logn - sa * inv, logn - sbs[rb] * inv, emi, nza, nzbs[rb]
                        )


@njit(cache=True)
def _fill_cell_index(t, labels, xs, out):
    for i in range(xs.shape[0]):
        x = xs[i]
        for p in range(t.pa.shape[0]):
            out[i, p] = t.coff[p] + labels[x, t.pa[p]] * t.ks[t.pb[p]] + labels[x, t.pb[p]]


def cell_index(t: Tables, labels: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Flat cell index of each clip of ``xs`` in each pair, ``(len(xs), n_pairs)``."""
    dtype = np.uint16 if t.cells.shape[0] <= 1 << 16 else np.uint32
    out = np.empty((len(xs), len(t.pa)), dtype=dtype)
    _fill_cell_index(t, labels, np.asarray(xs, dtype=np.int64), out)
    return out


def occupied(t: Tables, rows: np.ndarray, estimator_code: int) -> np.ndarray:
    """The cells ``rows`` occupy: where the adjusted estimator needs a value (else empty)."""
    need = np.zeros(t.cells.shape[0] if estimator_code == ADJUSTED else 0, dtype=bool)
    if estimator_code == ADJUSTED:
        need[rows.ravel()] = True
    return need


def objectives_after(
    t: Tables, rows: np.ndarray, s: int, estimator_code: int, need: np.ndarray | None = None
) -> np.ndarray:
    """F after adding (s = +1) or removing (s = -1) each clip alone, given its cell ``rows``.

    ``need``: ``occupied`` cells, or a superset; computed from ``rows`` when not given.
    """
    if need is None:
        need = occupied(t, rows, estimator_code)
    table = np.zeros(t.cells.shape[0], dtype=np.float64)
    cell_objectives(t, s, estimator_code, need, table)
    out = np.empty(len(rows), dtype=np.float64)
    positions = np.arange(len(rows), dtype=np.int64)
    score_alive(table, rows, positions, np.zeros(len(rows), dtype=bool), len(rows), out)
    return out


@njit(cache=True)
def take_rows(rows, positions):
    """``rows[positions]`` for a 2-D array, without numpy's generic fancy indexing."""
    out = np.empty((positions.shape[0], rows.shape[1]), dtype=rows.dtype)
    for i in range(positions.shape[0]):
        src = positions[i]
        for p in range(rows.shape[1]):
            out[i, p] = rows[src, p]
    return out


@njit(cache=True)
def score_alive(table, rows, pos, dead, n, out):
    """Score the rows ``rows[pos[i]]`` of cell indices for the first ``n`` positions that are
    not ``dead``, compacting the positions as it goes.

    The live positions move to the front in their order, their ``dead`` flags are cleared,
    and ``out`` gets their scores (F after removing that clip alone, given ``table``); the
    rows themselves never move (copying them cost a fifth of a pass). Returns the number of
    live positions. Rows are summed four at a time: the four sums are independent, so the
    CPU overlaps them (a fifth faster than one after the other), and each is still added pair
    by pair in order.
    """
    n_pairs = rows.shape[1]
    width = uint64(n_pairs)
    flat = rows.reshape(rows.size)
    src = np.empty(4, dtype=np.int64)
    w = 0
    i = 0
    while i < n:
        k = 0
        while k < 4 and i < n:
            if not dead[i]:
                src[k] = pos[i]
                k += 1
            i += 1
        if k == 4:
            a = uint64(src[0]) * width
            b = uint64(src[1]) * width
            c = uint64(src[2]) * width
            d = uint64(src[3]) * width
            t0 = t1 = t2 = t3 = 0.0
            for p in range(n_pairs):
                q = uint64(p)
                t0 += table[flat[a + q]]
                t1 += table[flat[b + q]]
                t2 += table[flat[c + q]]
                t3 += table[flat[d + q]]
            out[w] = t0 / n_pairs
            out[w + 1] = t1 / n_pairs
            out[w + 2] = t2 / n_pairs
            out[w + 3] = t3 / n_pairs
        else:
            for j in range(k):
                total = 0.0
                row = uint64(src[j]) * width
                for p in range(n_pairs):
                    total += table[flat[row + uint64(p)]]
                out[w + j] = total / n_pairs
        for j in range(k):  # w <= the position read, so nothing unread is overwritten
            pos[w] = src[j]
            dead[w] = False
            w += 1
    return w


@njit(cache=True)
def _bin(v, lo, scale, top):
    """Histogram bin of v: monotone in v, and always in [0, top] (NaN goes to 0)."""
    x = (v - lo) * scale
    if not x > 0.0:
        return 0
    if x >= top:
        return top
    return int(x)


@njit(cache=True)
def _rank(values, ids, positions):
    """``positions`` sorted by value, highest first, ties to the lower id."""
    positions = positions[np.argsort(ids[positions], kind="mergesort")]
    return positions[np.argsort(-values[positions], kind="mergesort")]


@njit(cache=True)
def top_positions(values, ids, count, ordered):
    """Positions of the ``count`` highest values, ties to the lower id; O(n).

    A histogram finds the bin that holds the cut, so only that bin is sorted. ``ordered``:
    best first (highest value, then lower id); otherwise in ascending position order.
    Values are finite (a NaN is never out of bounds, but its rank is unspecified).
    """
    n = values.shape[0]
    count = min(count, n)
    if count <= 0:
        return np.empty(0, dtype=np.int64)
    lo = values[0]
    hi = values[0]
    for i in range(n):
        lo = min(lo, values[i])
        hi = max(hi, values[i])
    top = min(_BINS, n) - 1
    scale = top / (hi - lo) if hi > lo else 0.0
    bins = np.empty(n, dtype=np.int32)
    hist = np.zeros(top + 1, dtype=np.int64)
    for i in range(n):
        bins[i] = _bin(values[i], lo, scale, top)
        hist[bins[i]] += 1
    cut = top
    above = 0
    while above + hist[cut] < count:
        above += hist[cut]
        cut -= 1
    border = np.empty(hist[cut], dtype=np.int64)
    w = 0
    for i in range(n):
        if bins[i] == cut:
            border[w] = i
            w += 1
    take = np.zeros(n, dtype=np.bool_)
    take[_rank(values, ids, border)[: count - above]] = True
    result = np.empty(count, dtype=np.int64)
    w = 0
    for i in range(n):
        if bins[i] > cut or take[i]:
            result[w] = i
            w += 1
    return _rank(values, ids, result) if ordered else result
