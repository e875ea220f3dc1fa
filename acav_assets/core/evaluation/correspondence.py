"""The controlled correspondence test (the paper's evaluation) on what the pipeline stored.

For each seed the clusterings are trained again and the selection runs to the size of the
true set; the baselines rank the same clips. Precision, recall and F1 at that size, and
precision by subset size, come out with their mean and spread over the seeds, because on a
few hundred clips one seed's precision swings by about 0.1.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import polars as pl

from acav_assets.core.catalog import TableStore
from acav_assets.core.clustering.clusterings import ClusteringSet, EmbeddingSource
from acav_assets.core.clustering.options import ClusteringOptions
from acav_assets.core.evaluation.baselines import (
    CCARanking,
    ContrastiveRanking,
    random_order,
    stack_layers,
)
from acav_assets.core.evaluation.corpus import clip_rows
from acav_assets.core.evaluation.metrics import (
    best_pairing_order,
    mean_and_spread,
    precision_at_sizes,
    selection_scores,
)
from acav_assets.core.features.store import EmbeddingStore
from acav_assets.core.selection.options import SelectionOptions
from acav_assets.core.selection.picking import select_clips
from acav_assets.core.storage import StorageRoot

METHODS = ("acav", "random", "cca_ranking", "contrastive")
EVALUATION_FILE = ("reports", "evaluation.json")


def _modality_layers(
    store: EmbeddingStore, extractor: str, shards: Sequence[str], ids: Sequence[str]
) -> list[np.ndarray]:
    """Every stored layer of one extractor, rows in the order of ``ids``."""
    layers = []
    for layer in store.layers(extractor):
        layer_ids, X = store.read(extractor, layer, list(shards))
        position = {c: i for i, c in enumerate(layer_ids)}
        layers.append(X[[position[c] for c in ids]])
    return layers


def _curve_sizes(size: int) -> np.ndarray:
    return np.unique(np.linspace(max(1, size // 10), size, 10).round().astype(np.int64))


def evaluate_correspondence(
    root: StorageRoot,
    tables: TableStore,
    truth: pl.DataFrame,
    sources: Sequence[EmbeddingSource],
    *,
    seeds: Sequence[int],
    clustering: ClusteringOptions,
    selection: SelectionOptions,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Scores of acav and the baselines against ``truth`` (a corpus's ``truth.csv``), as a
    JSON-able dict: ``true_set_size``, ``candidates``, ``methods`` (precision mean, std, min,
    max; recall and F1 means), ``curves`` (precision by subset size), ``auto_size`` (the
    share acav estimates without being told the size, its spread over seeds and shuffles,
    and acav's precision at that size) and ``ceiling`` (the precision the sample allows:
    ``metrics.best_pairing_order`` at the true size)."""
    store = EmbeddingStore(root)
    shards = sorted(set.intersection(*(set(store.shards(s.extractor)) for s in sources)))
    if not shards:
        raise ValueError("no shard has embeddings for every extractor; embed the corpus first")
    first = {s.modality: s.extractor for s in sources}
    ids_by_modality = [set(store.read(e, 0, shards)[0]) for e in first.values()]
    ids = sorted(set.intersection(*ids_by_modality))
    clips = tables.read("clips").join(
        tables.read("videos").select("video_id", "path"), on="video_id"
    )
    path_of = dict(zip(clips["clip_id"], clips["path"], strict=True))
    rows = clip_rows([path_of[c] for c in ids], truth)
    truth_mask = truth["corresponds"].to_numpy()[rows]
    size = int(truth_mask.sum())
    if size == 0 or size == len(ids):
        raise ValueError(f"the truth marks {size} of {len(ids)} clips: nothing to tell apart")
    pairing = best_pairing_order(
        truth["visual_class"].to_numpy()[rows], truth["audio_class"].to_numpy()[rows]
    )
    audio = stack_layers(_modality_layers(store, first["audio"], shards, ids))
    visual = stack_layers(_modality_layers(store, first["visual"], shards, ids))
    sizes = _curve_sizes(size)
    orders: dict[str, list[np.ndarray]] = {m: [] for m in METHODS}
    estimates: list[dict[str, float | int]] = []
    cca = CCARanking().fit(audio, visual).order_
    for done, seed in enumerate(seeds):
        trained = ClusteringSet.train(store, sources, shards, replace(clustering, seed=seed))
        labels = pl.concat([trained.assign(store, s) for s in shards]).sort("clip_id")
        labels = pl.DataFrame({"clip_id": ids}).join(labels, on="clip_id", how="left")
        search = replace(selection, seed=seed).search_kwargs()
        picked = select_clips(labels, trained.columns, trained.ks, n_select=size, **search)
        orders["acav"].append(picked.selector.order_)
        auto = select_clips(
            labels, trained.columns, trained.ks, auto_size=True,
            auto_shuffles=selection.auto_shuffles, **search,
        )  # fmt: skip
        estimates.append(
            auto.estimate.summary()
            | {"precision": selection_scores(auto.selector.order_, truth_mask).precision}
        )
        orders["random"].append(random_order(len(ids), seed))
        orders["cca_ranking"].append(cca)
        orders["contrastive"].append(ContrastiveRanking(seed=seed).fit(audio, visual).order_)
        if progress is not None:
            progress(done + 1, len(seeds))
    methods, curves = {}, {}
    for name, runs in orders.items():
        scores = [selection_scores(order[:size], truth_mask) for order in runs]
        precision = np.stack([precision_at_sizes(o, truth_mask, sizes)[1] for o in runs])
        methods[name] = {
            "precision": mean_and_spread([s.precision for s in scores]),
            "recall": float(np.mean([s.recall for s in scores])),
            "f1": float(np.mean([s.f1 for s in scores])),
            "n_seeds": len(runs),
        }
        curves[name] = {
            "sizes": sizes.tolist(),
            "precision": precision.mean(axis=0).tolist(),
            "spread": precision.std(axis=0).tolist(),
        }
    shares = [e["estimated_share"] for e in estimates]
    return {
        "true_set_size": size,
        "true_share": size / len(ids),
        "auto_size": {
            "estimated_share": mean_and_spread(shares),
            "estimated_size": round(float(np.mean([e["estimated_size"] for e in estimates]))),
            "share_low": min(e["share_low"] for e in estimates),
            "share_high": max(e["share_high"] for e in estimates),
            "precision": mean_and_spread([e["precision"] for e in estimates]),
            "per_seed": estimates,
        },
        "ceiling": selection_scores(pairing[:size], truth_mask).precision,
        "candidates": len(ids),
        "seeds": list(seeds),
        "shards": list(shards),
        "settings": {"k": clustering.k, **selection.search_kwargs()},
        "methods": methods,
        "curves": curves,
    }


def save_evaluation(root: StorageRoot, result: dict[str, Any]) -> str:
    """Store the result of :func:`evaluate_correspondence` where the report finds it."""
    path = root.path(*EVALUATION_FILE)
    root.write_bytes(path, json.dumps(result, indent=2).encode())
    return path


def load_evaluation(root: StorageRoot, shards: Sequence[str]) -> dict[str, Any] | None:
    """The stored evaluation if it scored exactly these shards (an evaluation of another
    corpus in the same root is not this curation's), else ``None``."""
    path = root.path(*EVALUATION_FILE)
    if not root.fs.exists(path):
        return None
    result = json.loads(root.read_bytes(path))
    return result if sorted(result.get("shards", [])) == sorted(shards) else None
