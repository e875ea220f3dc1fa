"""Benchmark: batch greedy selection on 1,000,000 candidates, against plain numpy.

10 clusterings (5 audio, 5 visual layers) with k = 32, bipartite pairing (25 pairs), select
20%, B = 20, top k = 4. The numba engine and a straightforward numpy implementation of the same
algorithm (same draws) run in one process; prints one JSON line with seconds, peak memory
(RSS) and the ratio. Usage: python benchmarks/selection.py [--n N] [--skip-numpy]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

import numpy as np

from acav_assets.core.selection import BatchGreedySelector, objective
from acav_assets.core.selection.greedy import _STEPS_PER_CALL

COLUMNS = [f"audio_{i}" for i in range(5)] + [f"visual_{i}" for i in range(5)]


def make_labels(n: int, k: int, seed: int) -> np.ndarray:
    """Half of the clips with agreeing audio and visual clusters, half with swapped audio."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, size=n)
    labels = np.stack([(truth + rng.integers(0, 3, size=n)) % k for _ in COLUMNS], axis=1)
    swapped = rng.permutation(n)[: n // 2]
    labels[swapped, :5] = labels[rng.permutation(swapped), :5]
    return labels


def _dxlogx(c: np.ndarray) -> np.ndarray:
    """f(c + 1) - f(c) for f(x) = x ln x."""
    c = c.astype(np.float64)
    safe = np.maximum(c, 1.0)
    return np.where(c > 0, np.log(c + 1.0) + c * np.log1p(1.0 / safe), 0.0)


def numpy_batch_greedy(labels, pairs, k, n_select, batch, top_k, seed):
    """The same batch greedy, written directly in numpy: one vectorised step at a time."""
    rng = np.random.default_rng(seed)
    n, m = labels.shape
    pa, pb = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    cells = np.zeros((len(pairs), k, k), dtype=np.int64)
    marg = np.zeros((m, k), dtype=np.int64)
    scell, smarg = np.zeros(len(pairs)), np.zeros(m)
    pool, m_pool, size = np.arange(n), n, 0
    order = []
    u = np.empty(0)
    steps = 0
    while len(order) < n_select and m_pool > 0:
        if steps % _STEPS_PER_CALL == 0:
            u = rng.random(_STEPS_PER_CALL * batch)
        off = (steps % _STEPS_PER_CALL) * batch
        steps += 1
        nb = min(batch, m_pool)
        for i in range(nb):
            j = int(u[off + i] * (m_pool - i))
            last = m_pool - 1 - i
            pool[j], pool[last] = pool[last], pool[j]
        cand = pool[m_pool - nb : m_pool].copy()
        lab = labels[cand]  # (nb, m)
        n1 = size + 1
        dc = _dxlogx(cells[np.arange(len(pairs))[:, None], lab[:, pa].T, lab[:, pb].T])
        dm = _dxlogx(marg[np.arange(m)[:, None], lab.T])  # (m, nb)
        sc, sa, sb = scell[:, None] + dc, smarg[pa, None] + dm[pa], smarg[pb, None] + dm[pb]
        gains = ((sc - sa - sb) / n1 + np.log(n1)).sum(axis=0) / len(pairs)
        kk = min(top_k, nb, n_select - len(order))
        best = np.lexsort((cand, -gains))[:kk]
        for b in best:
            x = lab[b]
            smarg += _dxlogx(marg[np.arange(m), x])
            marg[np.arange(m), x] += 1
            scell += _dxlogx(cells[np.arange(len(pairs)), x[pa], x[pb]])
            cells[np.arange(len(pairs)), x[pa], x[pb]] += 1
            size += 1
            order.append(int(cand[b]))
        rest = np.delete(cand, best)
        pool[m_pool - nb : m_pool - nb + len(rest)] = rest
        m_pool -= kk
    return np.array(order)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--skip-numpy", action="store_true")
    args = parser.parse_args()
    labels = make_labels(args.n, 32, seed=0)
    n_select = args.n // 5
    start = time.perf_counter()
    BatchGreedySelector(n_select=10, seed=0).fit(labels[:100], COLUMNS, ks=[32] * 10)
    warmup = time.perf_counter() - start
    rss_before = peak_rss_mb()
    sel = BatchGreedySelector(n_select=n_select, batch_size=20, top_k=4, seed=0)
    start = time.perf_counter()
    sel.fit(labels, COLUMNS, ks=[32] * 10)
    seconds = time.perf_counter() - start
    result = {
        "benchmark": "selection",
        "candidates": args.n,
        "selected": len(sel.order_),
        "pairs": len(sel.pairs_),
        "objective": round(sel.objective_, 6),
        "seconds": round(seconds, 3),
        "warmup_seconds": round(warmup, 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "peak_rss_mb_before_fit": round(rss_before, 1),
    }
    print(f"numba engine: {seconds:.2f} s", file=sys.stderr)
    if not args.skip_numpy:
        pairs = [(COLUMNS.index(a), COLUMNS.index(b)) for a, b in sel.pairs_]
        start = time.perf_counter()
        order = numpy_batch_greedy(labels, pairs, 32, n_select, 20, 4, seed=0)
        numpy_seconds = time.perf_counter() - start
        result["numpy_seconds"] = round(numpy_seconds, 3)
        result["numpy_objective"] = round(objective(labels[order], COLUMNS, ks=[32] * 10), 6)
        result["same_order"] = bool(np.array_equal(order, sel.order_))
        result["speedup"] = round(numpy_seconds / seconds, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
