"""The hot loops of selection, compiled with numba.

Every function here assumes valid input (the callers in ``state.py`` and ``greedy.py``
validate once at the boundary). The contingency tables live in a :class:`Tables` of flat
arrays; per pair and per clustering we keep the running sums ``sum x ln x`` over cells and
over marginals, so the plug-in MI of a pair is ``(S_cell - S_a - S_b) / n + ln n`` and adding
or removing a clip changes one cell and two marginals: O(number of pairs) per clip. The steps
``f(c + 1) - f(c)`` of ``f(x) = x ln x`` are looked up for counts below ``XLOGX_STEPS`` (two
logarithms saved per cell and marginal touched), computed beyond.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

PLUGIN, MILLER_MADOW, ADJUSTED = 0, 1, 2
XLOGX_STEPS = 1 << 16
_BLOCK = 1024


class Tables(NamedTuple):
    """Counts and running sums of a selected set (arrays mutated in place by the kernels)."""

    pa: np.ndarray  # int64 (P,): clustering index of the first side of each pair
    pb: np.ndarray  # int64 (P,): clustering index of the second side
    ks: np.ndarray  # int64 (m,): number of clusters of each clustering
    moff: np.ndarray  # int64 (m + 1,): offsets of each clustering's marginal in ``marg``
    marg: np.ndarray  # int64: cluster sizes of every clustering, concatenated
    coff: np.ndarray  # int64 (P + 1,): offsets of each pair's table in ``cells``
    cells: np.ndarray  # int64: the ka-by-kb tables, row-major, concatenated
    smarg: np.ndarray  # float64 (m,): sum of c ln c over each clustering's marginal
    scell: np.ndarray  # float64 (P,): sum of c ln c over each pair's cells
    nzm: np.ndarray  # int64 (m,): non-empty clusters of each clustering
    nzc: np.ndarray  # int64 (P,): non-empty cells of each pair
    n: np.ndarray  # int64 (1,): size of the set
    xlx: np.ndarray  # float64 (XLOGX_STEPS,): f(c + 1) - f(c) for f(x) = x ln x (read only)


@njit(cache=True)
def _xlogx_step(c):
    """f(c + 1) - f(c) for f(x) = x ln x and a count c >= 0, accurate for large c."""
    if c <= 0:
        return 0.0
    return math.log(c + 1.0) + c * math.log1p(1.0 / c)


@njit(cache=True)
def xlogx_steps(size):
    """The lookup table of ``_xlogx_step`` for counts ``0 .. size - 1``."""
    out = np.empty(size, dtype=np.float64)
    for c in range(size):
        out[c] = _xlogx_step(c)
    return out


@njit(cache=True)
def _dxlogx(xlx, c, s):
    """f(c + s) - f(c) for f(x) = x ln x and s = +1 or -1, from the table ``xlx`` when it can."""
    if s < 0:
        c -= 1
    d = xlx[c] if 0 <= c < xlx.shape[0] else _xlogx_step(c)
    return d if s > 0 else -d


@njit(cache=True)
def _dnonzero(c, s):
    """Change in the number of non-empty cells when a count c moves by s."""
    if s > 0:
        return 1 if c == 0 else 0
    return -1 if c == 1 else 0


@njit(cache=True)
def expected_mi(marg, oa, ka, ob, kb, n, ra, rb, s):
    """Expected MI of two clusterings with these marginals under random labelling (nats).

    Marginal ``ra`` of the first and ``rb`` of the second are read as moved by ``s`` (a clip
    added or removed); ``ra = -1`` reads them unchanged. The formula is Vinh et al. (2010), as
    in scikit-learn's ``expected_mutual_information``.
    """
    if n <= 1:
        return 0.0
    logn = math.log(n)
    gln_n1 = math.lgamma(n + 1.0)
    emi = 0.0
    for i in range(ka):
        ai = marg[oa + i] + (s if i == ra else 0)
        if ai == 0:
            continue
        for j in range(kb):
            bj = marg[ob + j] + (s if j == rb else 0)
            if bj == 0:
                continue
            start = max(1, ai - n + bj)
            end = min(ai, bj)
            base = (
                math.lgamma(ai + 1.0)
                + math.lgamma(bj + 1.0)
                + math.lgamma(n - ai + 1.0)
                + math.lgamma(n - bj + 1.0)
                - gln_n1
            )
            lab = math.log(ai) + math.log(bj)
            for nij in range(start, end + 1):
                gln = (
                    base
                    - math.lgamma(nij + 1.0)
                    - math.lgamma(ai - nij + 1.0)
                    - math.lgamma(bj - nij + 1.0)
                    - math.lgamma(n - ai - bj + nij + 1.0)
                )
                emi += nij / n * (logn + math.log(nij) - lab) * math.exp(gln)
    return emi


@njit(cache=True)
def _adjusted(mi, ha, hb, emi, nza, nzb):
    """scikit-learn's AMI (arithmetic mean) from its parts, with its edge cases."""
    if (nza == 1 and nzb == 1) or (nza == 0 and nzb == 0):
        return 1.0
    if nza == 1 or nzb == 1:
        return 0.0
    denom = 0.5 * (ha + hb) - emi
    if abs(denom) < 1e-10:
        # mean entropy == expected MI (e.g. every clip its own cluster): sklearn's 0/0 gives
        # +-1 by rounding noise; we take its intent, a perfect match, so that F is stable.
        return 1.0
    return (mi - emi) / denom


@njit(cache=True)
def objective_after(t, labels, x, s, est):
    """F of the set after adding (s = +1) or removing (s = -1) clip ``x``; x = -1: as is."""
    return objective_after_cached(t, labels, x, s, est, np.empty(0, dtype=np.float64))


@njit(cache=True)
def emi_cache(t, est):
    """Scratch for the expected MI of each (pair, changed cell) under one state and one sign.

    Why: E[MI] depends only on the marginals, so the clips that change the same cell share it;
    scoring many clips against one state computes at most one value per cell.
    """
    return np.full(t.cells.shape[0] if est == ADJUSTED else 0, np.nan)


@njit(cache=True)
def objective_after_cached(t, labels, x, s, est, cache):
    """``objective_after`` with an ``emi_cache`` valid for this state and sign (or empty)."""
    n1 = t.n[0] + (s if x >= 0 else 0)
    if n1 <= 0:
        return 0.0
    logn = math.log(n1)
    n_pairs = t.pa.shape[0]
    total = 0.0
    for p in range(n_pairs):
        a = t.pa[p]
        b = t.pb[p]
        sa = t.smarg[a]
        sb = t.smarg[b]
        sc = t.scell[p]
        nza = t.nzm[a]
        nzb = t.nzm[b]
        nzc = t.nzc[p]
        ra = -1
        rb = -1
        if x >= 0:
            ra = labels[x, a]
            rb = labels[x, b]
            ca = t.marg[t.moff[a] + ra]
            cb = t.marg[t.moff[b] + rb]
            cc = t.cells[t.coff[p] + ra * t.ks[b] + rb]
            sa += _dxlogx(t.xlx, ca, s)
            sb += _dxlogx(t.xlx, cb, s)
            sc += _dxlogx(t.xlx, cc, s)
            nza += _dnonzero(ca, s)
            nzb += _dnonzero(cb, s)
            nzc += _dnonzero(cc, s)
        mi = (sc - sa - sb) / n1 + logn
        if est == MILLER_MADOW:
            mi += ((nza - 1) + (nzb - 1) - (nzc - 1)) / (2.0 * n1)
        elif est == ADJUSTED:
            slot = t.coff[p] + max(ra, 0) * t.ks[b] + max(rb, 0)
            if cache.shape[0] and not np.isnan(cache[slot]):
                emi = cache[slot]
            else:
                emi = expected_mi(
                    t.marg, t.moff[a], t.ks[a], t.moff[b], t.ks[b], n1, ra, rb, s if x >= 0 else 0
                )
                if cache.shape[0]:
                    cache[slot] = emi
            mi = _adjusted(mi, logn - sa / n1, logn - sb / n1, emi, nza, nzb)
        total += mi
    return total / n_pairs


@njit(cache=True)
def apply_clip(t, labels, x, s):
    """Add (s = +1) or remove (s = -1) clip ``x``: one marginal per clustering, one cell a pair."""
    for j in range(t.ks.shape[0]):
        i = t.moff[j] + labels[x, j]
        c = t.marg[i]
        t.smarg[j] += _dxlogx(t.xlx, c, s)
        t.nzm[j] += _dnonzero(c, s)
        t.marg[i] = c + s
    for p in range(t.pa.shape[0]):
        i = t.coff[p] + labels[x, t.pa[p]] * t.ks[t.pb[p]] + labels[x, t.pb[p]]
        c = t.cells[i]
        t.scell[p] += _dxlogx(t.xlx, c, s)
        t.nzc[p] += _dnonzero(c, s)
        t.cells[i] = c + s
    t.n[0] += s


@njit(cache=True)
def apply_clips(t, labels, xs, s):
    """``apply_clip`` for each clip of ``xs`` in turn, in blocks, one sum at a time in a block.

    Each running sum sees the same additions in the same order as clip by clip (a sum only
    depends on its own marginal or table), but the inner loop keeps it in a register and a
    block's labels stay in cache.
    """
    xlx = t.xlx
    for start in range(0, xs.shape[0], _BLOCK):
        block = xs[start : start + _BLOCK]
        for j in range(t.ks.shape[0]):
            off = t.moff[j]
            sm = t.smarg[j]
            nz = t.nzm[j]
            for x in block:
                i = off + labels[x, j]
                c = t.marg[i]
                sm += _dxlogx(xlx, c, s)
                nz += _dnonzero(c, s)
                t.marg[i] = c + s
            t.smarg[j] = sm
            t.nzm[j] = nz
        for p in range(t.pa.shape[0]):
            a = t.pa[p]
            b = t.pb[p]
            kb = t.ks[b]
            off = t.coff[p]
            sc = t.scell[p]
            nz = t.nzc[p]
            for x in block:
                i = off + labels[x, a] * kb + labels[x, b]
                c = t.cells[i]
                sc += _dxlogx(xlx, c, s)
                nz += _dnonzero(c, s)
                t.cells[i] = c + s
            t.scell[p] = sc
            t.nzc[p] = nz
        t.n[0] += s * block.shape[0]


@njit(cache=True)
def count_clips(t, labels, xs, s):
    """Move the counts of the clips ``xs`` by ``s``, leaving the running sums to
    ``recompute_sums``: for many clips at once, counting is several times cheaper."""
    for start in range(0, xs.shape[0], _BLOCK):
        block = xs[start : start + _BLOCK]
        for j in range(t.ks.shape[0]):
            off = t.moff[j]
            for x in block:
                t.marg[off + labels[x, j]] += s
        for p in range(t.pa.shape[0]):
            a = t.pa[p]
            b = t.pb[p]
            kb = t.ks[b]
            off = t.coff[p]
            for x in block:
                t.cells[off + labels[x, a] * kb + labels[x, b]] += s
    t.n[0] += s * xs.shape[0]


@njit(cache=True)
def _sum_xlogx(counts, start, stop):
    total = 0.0
    nonzero = 0
    for i in range(start, stop):
        c = counts[i]
        if c > 0:
            total += c * math.log(c)
            nonzero += 1
    return total, nonzero


@njit(cache=True)
def recompute_sums(t):
    """Running sums and non-empty counts, exactly, from the counts (``n`` included)."""
    for j in range(t.ks.shape[0]):
        t.smarg[j], t.nzm[j] = _sum_xlogx(t.marg, t.moff[j], t.moff[j + 1])
    for p in range(t.pa.shape[0]):
        t.scell[p], t.nzc[p] = _sum_xlogx(t.cells, t.coff[p], t.coff[p + 1])
    n = 0
    if t.ks.shape[0]:
        for i in range(t.moff[0], t.moff[1]):
            n += t.marg[i]
    t.n[0] = n


@njit(cache=True)
def _better(g1, x1, g2, x2):
    """Order of candidates: higher objective first, then the lower clip index."""
    return g1 > g2 or (g1 == g2 and x1 < x2)


@njit(cache=True)
def forward_batch(t, labels, est, pool, m_pool, u, n_steps, batch, top_k, keep, remaining, out):
    """Up to ``n_steps`` steps of batch greedy (Chen & Krause 2013) on ``pool[:m_pool]``.

    Each step draws ``batch`` clips without replacement in O(batch) (a partial Fisher-Yates
    shuffle that moves them to the end of the live pool, using ``u``: uniform floats, ``batch``
    a step), adds the ``top_k`` best in order, and returns the rest to the pool (``keep``) or
    drops them. Chosen clips and the objective after each go to ``out`` (order, trace, pos).
    Returns the new live pool size and the number still to select.
    """
    order, trace, pos = out
    gains = np.empty(batch, dtype=np.float64)
    no_cache = np.empty(0, dtype=np.float64)
    taken = np.zeros(batch, dtype=np.bool_)
    for step in range(n_steps):
        if remaining <= 0 or m_pool <= 0:
            break
        nb = min(batch, m_pool)
        for i in range(nb):
            j = int(u[step * batch + i] * (m_pool - i))
            last = m_pool - 1 - i
            pool[j], pool[last] = pool[last], pool[j]
        base = m_pool - nb
        for i in range(nb):
            gains[i] = objective_after_cached(t, labels, pool[base + i], 1, est, no_cache)
            taken[i] = False
        kk = min(top_k, nb, remaining)
        for _ in range(kk):
            best = -1
            for i in range(nb):
                if taken[i]:
                    continue
                if best < 0 or _better(gains[i], pool[base + i], gains[best], pool[base + best]):
                    best = i
            taken[best] = True
            x = pool[base + best]
            apply_clip(t, labels, x, 1)
            order[pos[0]] = x
            trace[pos[0]] = objective_after(t, labels, -1, 0, est)
            pos[0] += 1
        remaining -= kk
        if keep:
            w = base
            for i in range(nb):
                if not taken[i]:
                    pool[w] = pool[base + i]
                    w += 1
            m_pool = w
        else:
            m_pool = base
    return m_pool, remaining


@njit(cache=True)
def forward_exact(t, labels, est, pool, m_pool, n_steps, out):
    """Up to ``n_steps`` steps of exact greedy: score every live clip, add the best one."""
    order, trace, pos = out
    for _ in range(n_steps):
        if m_pool <= 0:
            break
        best = -1
        best_g = 0.0
        cache = emi_cache(t, est)
        for i in range(m_pool):
            g = objective_after_cached(t, labels, pool[i], 1, est, cache)
            if best < 0 or _better(g, pool[i], best_g, pool[best]):
                best = i
                best_g = g
        x = pool[best]
        apply_clip(t, labels, x, 1)
        order[pos[0]] = x
        trace[pos[0]] = objective_after(t, labels, -1, 0, est)
        pos[0] += 1
        pool[best] = pool[m_pool - 1]
        pool[m_pool - 1] = x
        m_pool -= 1
    return m_pool


@njit(cache=True)
def try_swaps(t, labels, est, outs, ins, current):
    """Swap each ``outs[i]`` (selected) for ``ins[i]`` when that raises F; returns accepted."""
    accepted = np.zeros(outs.shape[0], dtype=np.bool_)
    for i in range(outs.shape[0]):
        apply_clip(t, labels, outs[i], -1)
        apply_clip(t, labels, ins[i], 1)
        f = objective_after(t, labels, -1, 0, est)
        if f > current + 1e-12:
            accepted[i] = True
            current = f
        else:
            apply_clip(t, labels, ins[i], -1)
            apply_clip(t, labels, outs[i], 1)
    return accepted
