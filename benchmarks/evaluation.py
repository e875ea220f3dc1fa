"""Precision on the controlled correspondence corpus: acav's settings against the baselines.

Renders the demo corpus (half of the audio swapped), cuts 3 uniform 10 s windows a video,
embeds them with the default extractors (SoundNet conv3-7, MobileNetV2 five layers), then
for each seed: k-means every layer (faiss, seeded), select to the size of the true set with
each setting, rank with each baseline. Prints one JSON line: precision mean and spread over
seeds per setting and per baseline (everything else on stderr).

Settings vary one factor at a time from the default (k=16, bipartite, plugin, forward):
the k rule, the MI estimator, the pairing, the search strategy.

    .venv/bin/python benchmarks/evaluation.py --videos 150 --seeds 5
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from pathlib import Path

import faiss
import numpy as np
import polars as pl

from acav_assets.core.evaluation import (
    CCARanking,
    ContrastiveRanking,
    PCARanking,
    clip_truth,
    generate_corpus,
    load_truth,
    mean_and_spread,
    random_order,
    selection_scores,
    stack_layers,
)
from acav_assets.core.features import extract_shard, get_extractor
from acav_assets.core.media.clips import clip_id, uniform_windows
from acav_assets.core.selection import BatchGreedySelector

DEFAULT = {"k": "16", "pairing": "bipartite", "estimator": "plugin", "strategy": "forward"}
VARIANTS = [
    {},
    {"k": "8"},
    {"k": "32"},
    {"k": "sqrt"},
    {"estimator": "adjusted"},
    {"estimator": "miller_madow"},
    {"pairing": "combination"},
    {"pairing": "diagonal"},
    {"strategy": "backward"},
    {"strategy": "forward+swap"},
]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def embed(corpus: Path, cache: Path) -> tuple[pl.DataFrame, dict[str, list[np.ndarray]], float]:
    """Clip windows of every video and their per-layer embeddings (cached in ``cache``)."""
    truth = load_truth(corpus)
    rows = []
    for row in truth.iter_rows(named=True):
        for w in uniform_windows(row["duration_s"], 3):
            rows.append((clip_id(row["video_id"], w.start_s), row["path"], w.start_s, w.end_s))
    clips = pl.DataFrame(rows, schema=["clip_id", "path", "start_s", "end_s"], orient="row")
    if cache.is_file():
        data = np.load(cache)
        ids = data["ids"].tolist()
        layers = {m: [data[f"{m}_{i}"] for i in range(5)] for m in ("audio", "visual")}
        return clips.filter(pl.col("clip_id").is_in(ids)).sort("clip_id"), layers, 0.0
    start = time.perf_counter()
    layers, ok = {}, None
    for modality, name in (("audio", "soundnet8"), ("visual", "mobilenet_v2")):
        result = extract_shard(
            clips,
            get_extractor(name),
            num_workers=1,
            device="cpu",
            progress=lambda d, t, n=name: log(f"{n}: {d}/{t}") if d % 64 < 16 else None,
        )
        ids, _ = result.embeddings[0]
        ok = set(ids) if ok is None else ok & set(ids)
        layers[modality] = (ids, [result.embeddings[i][1] for i in sorted(result.embeddings)])
    keep = sorted(ok)
    out = {}
    for modality, (ids, arrays) in layers.items():
        pos = {c: i for i, c in enumerate(ids)}
        rows_idx = np.array([pos[c] for c in keep])
        out[modality] = [np.asarray(a[rows_idx], dtype=np.float32) for a in arrays]
    seconds = time.perf_counter() - start
    np.savez(
        cache,
        ids=np.array(keep),
        **{f"{m}_{i}": a for m, arrs in out.items() for i, a in enumerate(arrs)},
    )
    return clips.filter(pl.col("clip_id").is_in(keep)).sort("clip_id"), out, seconds


def cluster(layers: dict[str, list[np.ndarray]], k: int, seed: int) -> tuple[np.ndarray, list]:
    """k-means of every layer: labels int64 ``(n_clips, 10)`` and their column names."""
    columns, labels = [], []
    for modality, arrays in layers.items():
        for i, X in enumerate(arrays):
            X = np.ascontiguousarray(X, dtype=np.float32)
            km = faiss.Kmeans(X.shape[1], k, niter=25, seed=seed + 1000 * i, verbose=False)
            km.train(X)
            labels.append(km.index.search(X, 1)[1][:, 0].astype(np.int64))
            columns.append(f"{modality}_{i}")
    return np.stack(labels, axis=1), columns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--videos", type=int, default=150)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--work", default="/tmp/acav_eval_bench")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    faiss.omp_set_num_threads(2)
    work = Path(args.work) / f"v{args.videos}"
    corpus = work / "corpus"
    gen_seconds = 0.0
    if not (corpus / "truth.csv").is_file():
        info = generate_corpus(
            corpus,
            n_videos=args.videos,
            seed=0,
            progress=lambda d, t: log(f"render {d}/{t}") if d % 25 == 0 else None,
        )
        gen_seconds = info.wall_seconds
        log(
            f"corpus: {info.n_videos} videos, {info.media_seconds:.0f} s media, {gen_seconds:.1f} s"
        )
    clips, layers, embed_seconds = embed(corpus, work / "embeddings.npz")
    truth = clip_truth(clips["path"].to_list(), load_truth(corpus))
    n, size = truth.size, int(truth.sum())
    log(f"{n} clips, {size} true; embedding took {embed_seconds:.1f} s")
    A, V = stack_layers(layers["audio"]), stack_layers(layers["visual"])
    results: dict[str, list[float]] = {}
    timings: dict[str, list[float]] = {}
    for seed in range(args.seeds):
        labels_by_k = {}
        for variant in VARIANTS:
            setting = {**DEFAULT, **variant}
            k = round(math.sqrt(n / 2)) if setting["k"] == "sqrt" else int(setting["k"])
            if k not in labels_by_k:
                labels_by_k[k] = cluster(layers, k, seed)
            labels, columns = labels_by_k[k]
            tick = time.perf_counter()
            sel = BatchGreedySelector(
                n_select=size,
                pairing=setting["pairing"],
                estimator=setting["estimator"],
                strategy=setting["strategy"],
                seed=seed,
            ).fit(labels, columns)
            name = "acav " + ",".join(f"{key}={setting[key]}" for key in DEFAULT)
            results.setdefault(name, []).append(selection_scores(sel.order_, truth).precision)
            timings.setdefault(name, []).append(time.perf_counter() - tick)
        baselines = {
            "random": lambda s=seed: random_order(n, s),
            "pca_cosine": lambda: PCARanking().fit(A, V).order_,
            "cca_cosine": lambda: CCARanking().fit(A, V).order_,
            "contrastive": lambda s=seed: ContrastiveRanking(seed=s).fit(A, V).order_,
        }
        for name, rank in baselines.items():
            tick = time.perf_counter()
            order = rank()
            results.setdefault(name, []).append(selection_scores(order[:size], truth).precision)
            timings.setdefault(name, []).append(time.perf_counter() - tick)
        log(f"seed {seed}: " + ", ".join(f"{k}={v[-1]:.3f}" for k, v in results.items()))
    summary = {
        "benchmark": "evaluation",
        "videos": args.videos,
        "clips": n,
        "true_set_size": size,
        "seeds": args.seeds,
        "generate_seconds": round(gen_seconds, 1),
        "embed_seconds": round(embed_seconds, 1),
        "precision": {
            k: {m: round(x, 4) for m, x in mean_and_spread(v).items()} for k, v in results.items()
        },
        "seconds_per_run": {k: round(float(np.mean(v)), 3) for k, v in timings.items()},
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
