"""The auto-size rule on the evaluation family: the estimated share and the precision at the
estimated size for several plateau widths (``size.NOISE_WIDTH``, in standard deviations of
the shuffled traces at the widest gap), with the shipped strategy.

For each corpus and seed the ensemble's clusterings are those ``benchmarks/quality.py``
scores, the estimate's traces (F and shuffled F along backward elimination) are computed
once, each width gives its size, and the strategy selects that many. Prints one JSON line
(per corpus and width: mean share, worst single-seed share error, mean precision); the
rest on stderr. Run ``quality.py`` for precision at the true size.

    nice -n 10 .venv/bin/python benchmarks/auto_size.py --corpora c10-s50-shots-v120 real
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from quality import Clusterer, corpus_folder, log  # noqa: E402

from acav_assets.core.clustering.kmeans import resolve_k  # noqa: E402
from acav_assets.core.evaluation import selection_scores  # noqa: E402
from acav_assets.core.evaluation.family import load_embedded  # noqa: E402
from acav_assets.core.selection import BatchGreedySelector, estimate_share  # noqa: E402
from acav_assets.core.selection.options import SelectionOptions  # noqa: E402
from acav_assets.core.selection.size import plateau_size  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="/work/data", type=Path)
    parser.add_argument("--corpora", nargs="+", required=True)
    parser.add_argument("--widths", nargs="+", type=float, default=[0.0, 0.25, 0.5, 1.0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    faiss.omp_set_num_threads(1)
    strategy = SelectionOptions.strategy
    out = {}
    for name in args.corpora:
        corpus = load_embedded(corpus_folder(args.data, name))
        n, true = corpus.n_clips, float(corpus.truth.mean())
        clusterer = Clusterer(corpus)
        rows: dict[float, list[tuple[float, float]]] = {w: [] for w in args.widths}
        tick = time.perf_counter()
        for seed in range(args.seeds):
            labels, columns, _ = clusterer.ensemble(resolve_k(n, "auto"), seed)
            estimate = estimate_share(labels, columns, strategy=strategy, seed=seed)
            gap = estimate.trace - estimate.null_trace
            spread = float(estimate.null_spread[gap.argmax()])
            for width in args.widths:
                size = plateau_size(estimate.sizes, gap, width * spread)
                picked = BatchGreedySelector(n_select=size, strategy=strategy, seed=seed)
                order = picked.fit(labels, columns).order_
                rows[width].append((size / n, selection_scores(order, corpus.truth).precision))
        shares = {p: np.array([r[0] for r in v]) for p, v in rows.items()}
        out[name] = {
            "true_share": round(true, 4),
            "seconds": round(time.perf_counter() - tick, 1),
            "loadavg": open("/proc/loadavg").read().split()[:3],
            "widths": {
                str(p): {
                    "share": round(float(shares[p].mean()), 4),
                    "worst_error": round(float(np.abs(shares[p] - true).max()), 4),
                    "precision": round(float(np.mean([r[1] for r in v])), 4),
                }
                for p, v in rows.items()
            },
        }
        log(f"{name}: {json.dumps(out[name])}")
    print(json.dumps({"benchmark": "auto_size", "strategy": strategy, "corpora": out}))


if __name__ == "__main__":
    main()
