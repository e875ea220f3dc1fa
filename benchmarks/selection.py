"""Benchmark: selection on planted labels, against plain numpy and against today's search.

10 clusterings (5 audio, 5 visual layers) with k = 32, bipartite pairing (25 pairs), select
20%, seed 0. Half of the clips have agreeing audio and visual clusters (the true ones), half
have their audio swapped, so precision (share of true clips among the selected) is known.

- ``--strategy forward`` (batch greedy, B = 20, top k = 4): the numba engine and a
  straightforward numpy implementation of the same algorithm and draws, in one process.
- ``--strategy backward`` (or ``forward+swap``, ``backward+swap``): the engine with its
  defaults, the same search without bands (every clip re-scored every round; for backward
  that is today's search: it selects the same set as the code before the band did) and, up
  to ``--numpy-max`` candidates, a straightforward numpy implementation of the same banded
  backward elimination.
- ``--command``: the whole ``acav select`` command as a process on one core (``taskset -c 0``,
  Python start to exit, numba's cache warm), on a Parquet file written first.

Timed runs are repeated (``--repeat``) and the fastest kept, wall clock and CPU: the box is
shared, and others' jobs only ever add time.

- ``--family NAME=REF,V1,...``: a selector parameter (``backward_band``, ``swap_band``,
  ``backward_chunk``) at each value on every corpus of ``FAMILY``, its objective against the
  first value's: how its default is chosen (by the worst case).

Prints one JSON line (seconds, objective, precision, ratios, load average, peak RSS).
Usage: python benchmarks/selection.py [--n N] [--strategy S] [--command] [--skip-numpy]
       python benchmarks/selection.py --strategy backward --family backward_band=1,0.1
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from acav_assets.core.selection import BatchGreedySelector, objective
from acav_assets.core.selection.search import STEPS_PER_CALL

COLUMNS = [f"audio_{i}" for i in range(5)] + [f"visual_{i}" for i in range(5)]
K = 32


def make_labels(
    n: int, k: int, seed: int, noise: int = 3, swapped: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Labels with planted correspondence, and which clips are true (audio not swapped).

    Each clustering sees a clip's true class shifted by 0 .. ``noise - 1``; the audio of a
    ``swapped`` share of the clips is shuffled among them."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, size=n)
    labels = np.stack([(truth + rng.integers(0, noise, size=n)) % k for _ in COLUMNS], axis=1)
    swapped = rng.permutation(n)[: int(n * swapped)]
    labels[swapped, :5] = labels[rng.permutation(swapped), :5]
    is_true = np.ones(n, dtype=bool)
    is_true[swapped] = False
    return labels, is_true


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
        if steps % STEPS_PER_CALL == 0:
            u = rng.random(STEPS_PER_CALL * batch)
        off = (steps % STEPS_PER_CALL) * batch
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


def numpy_backward(labels, pairs, k, n_keep, chunk, band):
    """The same banded backward elimination, written directly in numpy (plug-in MI)."""
    pa, pb = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    p_idx = np.arange(len(pairs))
    cells = np.zeros((len(pairs), k, k), dtype=np.int64)
    np.add.at(cells, (p_idx, labels[:, pa], labels[:, pb]), 1)
    marg = np.stack([np.bincount(labels[:, j], minlength=k) for j in range(labels.shape[1])])

    def xlogx_sum(counts, axes):
        c = counts.astype(np.float64)
        return (c * np.log(np.maximum(c, 1.0))).sum(axis=axes)

    def after_removal(ids):
        """F after removing each clip of ``ids`` alone."""
        lab = labels[ids]
        n1 = int(marg[0].sum()) - 1
        cell = cells[p_idx[:, None], lab[:, pa].T, lab[:, pb].T]  # (pairs, clips)
        margin = marg[np.arange(labels.shape[1])[:, None], lab.T]  # (clusterings, clips)
        sc = xlogx_sum(cells, (1, 2))[:, None] - _dxlogx(cell - 1)
        sm = xlogx_sum(marg, 1)[:, None] - _dxlogx(margin - 1)
        return ((sc - sm[pa] - sm[pb]) / n1 + np.log(n1)).mean(axis=0)

    def remove(ids):
        lab = labels[ids]
        np.add.at(cells, (p_idx, lab[:, pa], lab[:, pb]), -1)
        np.add.at(marg, (np.arange(labels.shape[1]), lab), -1)

    def top(values, ids, count):
        return np.lexsort((ids, -values))[:count]

    alive = np.arange(len(labels))
    while True:
        after = after_removal(alive)
        if len(alive) <= n_keep:
            break
        step = min(len(alive) - n_keep, max(1, math.ceil(chunk * len(alive))))
        size = min(len(alive), max(step, math.ceil(band * len(alive))))
        if size == len(alive):
            worst = top(after, alive, step)
            remove(alive[worst])
            alive = np.delete(alive, worst)
            continue
        members = np.sort(top(after, alive, size))
        values, gone = after[members], []
        quota = min(len(alive) - n_keep, max(step, size // 2))
        while True:
            picks = top(values, alive[members], min(step, quota))
            remove(alive[members[picks]])
            gone.append(members[picks])
            members = np.delete(members, picks)
            quota -= len(picks)
            if quota <= 0:
                break
            values = after_removal(alive[members])
        alive = np.delete(alive, np.concatenate(gone))
    return alive[np.argsort(after, kind="stable")]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def fit(labels, is_true, strategy, repeat=1, **kwargs) -> tuple[BatchGreedySelector, dict]:
    """Fit ``repeat`` times (the same result each time); the fastest wall and CPU times."""
    walls, cpus = [], []
    for _ in range(repeat):
        sel = BatchGreedySelector(n_select=len(labels) // 5, strategy=strategy, seed=0, **kwargs)
        start, cpu = time.perf_counter(), time.process_time()
        sel.fit(labels, COLUMNS, ks=[K] * len(COLUMNS))
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    figures = {
        "seconds": round(min(walls), 3),
        "cpu_seconds": round(min(cpus), 3),
        "objective": round(sel.objective_, 6),
        "precision": round(float(is_true[sel.order_].mean()), 4) if len(sel.order_) else None,
    }
    return sel, figures


def run_forward(labels, is_true, args, result) -> None:
    sel, figures = fit(labels, is_true, "forward", batch_size=20, top_k=4)
    result.update(figures)
    print(f"numba engine: {figures['seconds']:.2f} s", file=sys.stderr)
    if not args.skip_numpy:
        pairs = [(COLUMNS.index(a), COLUMNS.index(b)) for a, b in sel.pairs_]
        start = time.perf_counter()
        order = numpy_batch_greedy(labels, pairs, K, len(labels) // 5, 20, 4, seed=0)
        numpy_seconds = time.perf_counter() - start
        result["numpy_seconds"] = round(numpy_seconds, 3)
        result["numpy_objective"] = round(objective(labels[order], COLUMNS, ks=[K] * 10), 6)
        result["same_order"] = bool(np.array_equal(order, sel.order_))
        result["speedup"] = round(numpy_seconds / figures["seconds"], 1)


def run_backward(labels, is_true, args, result) -> None:
    sel, figures = fit(labels, is_true, args.strategy, repeat=args.repeat)
    result.update(figures)
    print(f"numba engine ({args.strategy}): {figures['seconds']:.2f} s", file=sys.stderr)
    _, unbanded = fit(labels, is_true, args.strategy, backward_band=1.0, swap_band=1.0)
    result["unbanded"] = unbanded
    result["objective_gain"] = round(figures["objective"] - unbanded["objective"], 6)
    print(f"the same search without bands: {unbanded['seconds']:.2f} s", file=sys.stderr)
    if not args.skip_numpy and len(labels) <= args.numpy_max and args.strategy == "backward":
        pairs = [(COLUMNS.index(a), COLUMNS.index(b)) for a, b in sel.pairs_]
        start, cpu = time.perf_counter(), time.process_time()
        order = numpy_backward(
            labels, pairs, K, len(labels) // 5, sel.backward_chunk, sel.backward_band
        )
        numpy_seconds = time.perf_counter() - start
        numpy_cpu = time.process_time() - cpu
        result["numpy_seconds"] = round(numpy_seconds, 3)
        result["numpy_cpu_seconds"] = round(numpy_cpu, 3)
        result["numpy_objective"] = round(objective(labels[order], COLUMNS, ks=[K] * 10), 6)
        result["same_set"] = bool(np.array_equal(np.sort(order), np.sort(sel.order_)))
        result["speedup"] = round(numpy_seconds / figures["seconds"], 1)
        result["cpu_speedup"] = round(numpy_cpu / figures["cpu_seconds"], 1)
        print(f"numpy, same search: {numpy_seconds:.2f} s", file=sys.stderr)


def run_command(labels, is_true, args, result) -> None:
    """Time ``acav select`` as a whole process on core 0, on a Parquet file of the labels."""
    import polars as pl

    folder = tempfile.mkdtemp(prefix="acav-select-bench-")
    try:
        path = os.path.join(folder, "assignments.parquet")
        frame = {"clip_id": [f"clip{i:09d}" for i in range(len(labels))]}
        frame.update({c: labels[:, j] for j, c in enumerate(COLUMNS)})
        pl.DataFrame(frame).write_parquet(path)
        out = os.path.join(folder, "selected.parquet")
        command = [
            *(["taskset", "-c", "0"] if shutil.which("taskset") else []),
            sys.executable, "-c", "from acav_assets.cli import main; main()",
            "select", "--assignments", path, "--out", out, "--ratio", "0.2",
            "--strategy", args.strategy,
        ]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True)  # fills numba's cache
        walls, cpus = [], []
        for _ in range(args.repeat):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            done = subprocess.run(command, check=True, capture_output=True, text=True)
            walls.append(round(time.perf_counter() - start, 3))
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            cpus.append(round(cpu, 3))
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        rows = [int(c[4:]) for c in pl.read_parquet(out)["clip_id"]]
        result.update(
            command_seconds=walls,
            command_seconds_min=min(walls),
            command_seconds_median=float(np.median(walls)),
            command_cpu_seconds=cpus,
            search_seconds=summary["seconds"],
            objective=round(summary["objective"], 6),
            precision=round(float(is_true[rows].mean()), 4),
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# The family a search default is chosen on: one factor changed at a time from the benchmark's
# corpus (200,000 candidates, k = 32, noise 3, half swapped, keep 20%), and two sizes.
FAMILY = [
    {},
    {"k": 8},
    {"k": 64},
    {"noise": 6},
    {"noise": 2},
    {"swapped": 0.8},
    {"keep": 0.05},
    {"keep": 0.5},
    {"pairing": "combination"},
    {"pairing": "diagonal"},
    {"estimator": "miller_madow"},
    {"n": 50_000},
    {"n": 1_000_000},
]


def run_family(args, result) -> None:
    """Each setting of ``--family NAME=REF,V1,...`` against the first, on every member."""
    name, values = args.family.split("=")
    values = [float(v) for v in values.split(",")]
    fixed = {k: float(v) for k, v in (item.split("=") for item in args.set)}
    rows, worst = [], {v: None for v in values[1:]}
    for member in FAMILY:
        n, k, keep = member.get("n", 200_000), member.get("k", K), member.get("keep", 0.2)
        gen = {key: member[key] for key in ("noise", "swapped") if key in member}
        search = {key: member[key] for key in ("pairing", "estimator") if key in member}
        labels, is_true = make_labels(n, k, seed=0, **gen)
        row = {"member": member or "benchmark corpus"}
        for value in values:
            sel = BatchGreedySelector(
                n_select=int(n * keep), strategy=args.strategy, seed=0,
                **{name: value}, **fixed, **search,
            )  # fmt: skip
            cpu = time.process_time()
            sel.fit(labels, COLUMNS, ks=[k] * len(COLUMNS))
            row[str(value)] = {
                "objective": round(sel.objective_, 6),
                "precision": round(float(is_true[sel.order_].mean()), 4),
                "cpu_seconds": round(time.process_time() - cpu, 3),
            }
        ref = row[str(values[0])]
        for value in values[1:]:
            change = (row[str(value)]["objective"] - ref["objective"]) / ref["objective"]
            row[str(value)]["objective_change"] = round(change, 6)
            worst[value] = change if worst[value] is None else min(worst[value], change)
        print(json.dumps(row), file=sys.stderr)
        rows.append(row)
    result.update(
        benchmark="selection_family",
        parameter=name,
        reference=values[0],
        fixed=fixed,
        members=rows,
        worst_objective_change={str(v): round(w, 6) for v, w in worst.items()},
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument(
        "--strategy",
        default="forward",
        choices=["forward", "backward", "forward+swap", "backward+swap"],
    )
    parser.add_argument("--command", action="store_true", help="time the whole acav select")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the timed search")
    parser.add_argument("--skip-numpy", action="store_true")
    parser.add_argument("--numpy-max", type=int, default=100_000)
    parser.add_argument(
        "--family", help="NAME=REF,V1,...: a selector parameter over the family of corpora"
    )
    parser.add_argument("--set", nargs="*", default=[], help="NAME=V: fixed for --family")
    args = parser.parse_args()
    if args.family:
        result = {"strategy": args.strategy, "loadavg_before": loadavg()}
        run_family(args, result)
        result["loadavg_after"] = loadavg()
        print(json.dumps(result))
        return
    labels, is_true = make_labels(args.n, K, seed=0)
    result = {
        "benchmark": "selection",
        "strategy": args.strategy,
        "candidates": args.n,
        "selected": args.n // 5,
        "pairs": 25,
        "loadavg_before": loadavg(),
    }
    if args.command:
        result["benchmark"] = "select_command"
        run_command(labels, is_true, args, result)
    else:
        start = time.perf_counter()
        BatchGreedySelector(n_select=10, strategy=args.strategy, seed=0).fit(
            labels[:100], COLUMNS, ks=[K] * 10
        )
        result["warmup_seconds"] = round(time.perf_counter() - start, 3)
        result["peak_rss_mb_before_fit"] = round(peak_rss_mb(), 1)
        run = run_forward if args.strategy == "forward" else run_backward
        run(labels, is_true, args, result)
        result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    result["loadavg_after"] = loadavg()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
