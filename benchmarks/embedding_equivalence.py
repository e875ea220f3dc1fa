"""Same embeddings, same curation: acav's extraction against today's fp32 path, per layer.

Embeds a corpus with a known audio-visual truth twice over the same clip windows: with
acav (``acav evaluate`` ingests, embeds and scores it) and with the yardstick of
``benchmarks/extraction.py`` (today's path: frames at the slice centres, each window decoded
on its own, fp32). Then, per (modality, layer):

- cosine similarity of the two embeddings of each clip (mean, 5th percentile, minimum);
- cluster agreement: adjusted mutual information of acav's k-means labels (the clusterings
  ``acav`` trains with its default options) between the two embeddings, seed by seed, next
  to the agreement of today's labels between two seeds (what k-means alone moves);

and ``evaluate_correspondence`` (what ``acav evaluate`` reports, default options) on both:
precision of acav at the true-set size, mean and standard deviation. Prints one JSON line.

    python benchmarks/embedding_equivalence.py                       # the demo corpus
    python benchmarks/embedding_equivalence.py --corpus /work/data/X  # any manifest + truth
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.metrics import adjusted_mutual_info_score

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from extraction import plain_embed  # noqa: E402

from acav_assets.core.catalog.tables import TableStore  # noqa: E402
from acav_assets.core.clustering import ClusteringSet, EmbeddingSource  # noqa: E402
from acav_assets.core.clustering.options import ClusteringOptions  # noqa: E402
from acav_assets.core.evaluation import (  # noqa: E402
    evaluate_correspondence,
    generate_corpus,
    load_truth,
)
from acav_assets.core.features import EmbeddingStore, clip_windows, get_extractor  # noqa: E402
from acav_assets.core.selection.options import SelectionOptions  # noqa: E402
from acav_assets.core.storage import StorageRoot  # noqa: E402

EXTRACTORS = {"audio": "soundnet8", "visual": "mobilenet_v2"}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def embed_like_today(new_home: Path, old_home: Path) -> None:
    """``old_home``: the tables of ``new_home`` and every shard embedded by the yardstick."""
    if old_home.exists():
        shutil.rmtree(old_home)
    shutil.copytree(new_home / "tables", old_home / "tables")
    tables = TableStore(StorageRoot(str(new_home)))
    store = EmbeddingStore(StorageRoot(str(old_home)))
    for shard in tables.shards("clips"):
        windows = clip_windows(tables, shard)
        log(f"today's path: shard {shard}, {windows.height} clips")
        for name, (ids, layers) in plain_embed(windows).items():
            for index, X in enumerate(layers):
                store.write(name, shard, index, ids, X)
            version = f"{get_extractor(name).version}-today"
            store.write_meta(name, shard, {"extractor": name, "version": version})


def _sources(store: EmbeddingStore) -> list[EmbeddingSource]:
    return [
        EmbeddingSource(m, name, (store.meta(name, store.shards(name)[0]) or {})["version"])
        for m, name in EXTRACTORS.items()
    ]


def _layers(store: EmbeddingStore, ids: list[str]) -> dict[str, np.ndarray]:
    out = {}
    for modality, name in EXTRACTORS.items():
        for layer in store.layers(name):
            got, X = store.read(name, layer)
            position = {c: i for i, c in enumerate(got)}
            out[f"{modality}_{layer}"] = X[[position[c] for c in ids]]
    return out


def _labels(store: EmbeddingStore, seed: int) -> pl.DataFrame:
    shards = store.shards(EXTRACTORS["audio"])
    trained = ClusteringSet.train(store, _sources(store), shards, ClusteringOptions(seed=seed))
    return pl.concat([trained.assign(store, s) for s in shards]).sort("clip_id")


def compare(new_root: StorageRoot, old_root: StorageRoot, seeds: list[int]) -> dict:
    new, old = EmbeddingStore(new_root), EmbeddingStore(old_root)
    ids = sorted(
        set.intersection(*(set(s.read(n, 0)[0]) for s in (new, old) for n in EXTRACTORS.values()))
    )
    a, b = _layers(new, ids), _layers(old, ids)
    layers: dict[str, dict] = {}
    for column in a:
        x, y = a[column], b[column]
        cos = (x * y).sum(1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1) + 1e-12)
        layers[column] = {
            "cosine_mean": round(float(cos.mean()), 4),
            "cosine_p5": round(float(np.percentile(cos, 5)), 4),
            "cosine_min": round(float(cos.min()), 4),
        }
    agreement: dict[str, list[float]] = {c: [] for c in a}
    k_means_alone: dict[str, list[float]] = {c: [] for c in a}
    previous = None
    for seed in seeds:
        new_labels = _labels(new, seed).filter(pl.col("clip_id").is_in(ids)).sort("clip_id")
        old_labels = _labels(old, seed).filter(pl.col("clip_id").is_in(ids)).sort("clip_id")
        for column in a:
            agreement[column].append(
                adjusted_mutual_info_score(new_labels[column], old_labels[column])
            )
            if previous is not None:
                k_means_alone[column].append(
                    adjusted_mutual_info_score(previous[column], old_labels[column])
                )
        previous = old_labels
    for column in a:
        layers[column]["ami_acav_vs_today"] = round(float(np.mean(agreement[column])), 4)
        layers[column]["ami_today_seed_vs_seed"] = round(float(np.mean(k_means_alone[column])), 4)
    return {"clips_compared": len(ids), "layers": layers}


def precision(root: StorageRoot, corpus: Path, seeds: list[int]) -> dict:
    store = EmbeddingStore(root)
    result = evaluate_correspondence(
        root, TableStore(root), load_truth(corpus), _sources(store), seeds=seeds,
        clustering=ClusteringOptions(), selection=SelectionOptions(),
    )  # fmt: skip
    p = result["methods"]["acav"]["precision"]
    return {"mean": round(p["mean"], 4), "std": round(p["std"], 4), "n": result["true_set_size"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=None, help="manifest.csv + truth.csv (default: demo)")
    parser.add_argument("--videos", type=int, default=120, help="videos of the demo corpus")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--work", default="/tmp/acav-equivalence")
    args = parser.parse_args()
    work = Path(args.work)
    seeds = list(range(args.seeds))
    corpus = Path(args.corpus) if args.corpus else work / "demo-corpus"
    began = time.perf_counter()
    if args.corpus is None and not (corpus / "truth.csv").is_file():
        generate_corpus(corpus, n_videos=args.videos, seed=0)
        log(f"demo corpus rendered in {time.perf_counter() - began:.0f} s")
    name = corpus.name
    new_home, old_home = work / f"{name}-acav", work / f"{name}-today"
    cli_main = "from acav_assets.cli import main; main()"
    command = [sys.executable, "-c", cli_main, "evaluate", "--corpus", str(corpus),
               "--home", str(new_home), "--out", str(work / f"{name}-report"),
               "--seeds", str(args.seeds)]  # fmt: skip
    tick = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    cli = json.loads(done.stdout.strip().splitlines()[-1])
    log(f"acav evaluate: {time.perf_counter() - tick:.0f} s, precision {cli['precision']}")
    tick = time.perf_counter()
    embed_like_today(new_home, old_home)
    log(f"today's path embedded in {time.perf_counter() - tick:.0f} s")
    new_root, old_root = StorageRoot(str(new_home)), StorageRoot(str(old_home))
    summary = {
        "benchmark": "embedding_equivalence",
        "corpus": str(corpus),
        "seeds": args.seeds,
        **compare(new_root, old_root, seeds),
        "precision": {
            "acav": precision(new_root, corpus, seeds),
            "today": precision(old_root, corpus, seeds),
            "acav_evaluate_cli": {
                "mean": cli["precision"]["acav"],
                "std": cli["precision_std"]["acav"],
            },
        },
        "seconds": round(time.perf_counter() - began, 1),
    }
    p = summary["precision"]
    summary["precision_within_one_std"] = (
        p["acav"]["mean"] >= p["today"]["mean"] - p["today"]["std"]
    )
    sys.stdout.write(json.dumps(summary) + "\n")


if __name__ == "__main__":
    main()
