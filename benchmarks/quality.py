"""Curation quality over the evaluation family: every setting on every corpus, worst case last.

Builds each corpus of ``acav_assets.core.evaluation.family.FAMILY`` (and the real-footage
corpus) once under ``--data`` through the project's own ingest and embedding, then, for each
seed, clusters every layer and selects to the size of the true set with each setting, and
ranks with each baseline and with the ceiling the sample allows (``CEILING``). Prints one
JSON line: precision mean, std, min and max over seeds, per setting and corpus, and the worst
corpus of each setting (everything else on stderr).

    nice -n 10 .venv/bin/python benchmarks/quality.py --data /work/data --seeds 5
    nice -n 10 .venv/bin/python benchmarks/quality.py --build-only   # warm the caches
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import faiss
import numpy as np

from acav_assets.core.clustering import ClusteringOptions, KMeansClustering
from acav_assets.core.clustering.clusterings import ENSEMBLE_SEED_STEP
from acav_assets.core.clustering.kmeans import resolve_k
from acav_assets.core.evaluation import (
    CCARanking,
    ContrastiveRanking,
    best_pairing_order,
    mean_and_spread,
    random_order,
    selection_scores,
    stack_layers,
)
from acav_assets.core.evaluation.corpus import TRUTH_NAME
from acav_assets.core.evaluation.family import (
    CORPUS_FOLDER,
    FAMILY,
    REAL,
    EmbeddedCorpus,
    build_generated,
    ingest_and_embed,
    load_embedded,
)
from acav_assets.core.evaluation.real import generate_real_corpus, unpack_packages
from acav_assets.core.selection import BatchGreedySelector, estimate_share
from acav_assets.core.selection.pairing import variant_column

# The shipped default; each row changes what it names. "k_scale" multiplies the auto k,
# "k_set" clusters each layer at several multiples of k, "kmeans_seeds" with several seeds,
# "cca" adds k-means of the jointly projected (CCA) features as one more audio and visual
# clustering, paired with everything (bipartite) or only with each other ("cca_weight"
# copies of that pair beside the layer pairs). "package_ensemble" takes the clusterings of
# ClusteringOptions' ensemble under the package's names and searches with its strategy.
DEFAULT = {"clips_per_cell": 1.0, "strategy": "backward", "estimator": "plugin",
           "pairing": "bipartite"}  # fmt: skip
SETTINGS: dict[str, dict] = {
    "backward, k auto (n >= k^2), plugin, bipartite": {},
    "k = 16": {"k": 16},
    "strategy forward+swap": {"strategy": "forward+swap"},
    "estimator miller_madow": {"estimator": "miller_madow"},
    "pairing diagonal": {"pairing": "diagonal"},
    "k ensemble (k/2, k, 2k) a layer": {"k_set": (0.5, 1.0, 2.0)},
    "3 k-means seeds a layer": {"kmeans_seeds": 3},
    "+ CCA pair weighted as all layer pairs": {"cca": 25},
    "strategy ensemble (k/2, k, 2k x 3 seeds a layer)": {"package_ensemble": True,
                                                         "strategy": "ensemble"},
}  # fmt: skip
# Settings also scored at the size they estimate themselves (--size auto).
AUTO_SIZE = ("backward, k auto (n >= k^2), plugin, bipartite",
             "strategy ensemble (k/2, k, 2k x 3 seeds a layer)")  # fmt: skip
BASELINES = ("cca_ranking", "contrastive", "random")
# Not a method: metrics.best_pairing_order, which knows every clip's classes but not the true
# pairing. Where it is low, the sample itself hides the true pairing from any method.
CEILING = "ceiling: the best class pairing, classes known"

_last_report: dict[str, float] = {}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def progress(label: str, done: int, total: int) -> None:
    """A line on stderr at most every 20 s per stage, and at the end of each."""
    now = time.monotonic()
    if done >= total or now - _last_report.get(label, 0.0) > 20:
        _last_report[label] = now
        log(f"{label}: {done}/{total}")


def corpus_folder(data: Path, name: str) -> Path:
    return data / REAL if name == REAL else data / "family" / name


def build(data: Path, names: list[str]) -> dict[str, float]:
    """Render, ingest and embed every corpus named, in that order (what is cached is
    skipped); returns the seconds each took."""
    specs = {spec.name: spec for spec in FAMILY}
    unknown = sorted(set(names) - set(specs) - {REAL})
    if unknown:
        raise SystemExit(f"unknown corpora {unknown}: use {sorted(specs)} or {REAL!r}")
    seconds = {}
    for name in names:
        tick = time.perf_counter()
        folder = corpus_folder(data, name)
        if name == REAL:
            if not (folder / CORPUS_FOLDER / TRUTH_NAME).is_file():
                tree = unpack_packages(folder / "packages")
                generate_real_corpus(
                    folder / CORPUS_FOLDER,
                    tree,
                    seed=0,
                    progress=lambda d, t: progress("render real", d, t),
                )
            ingest_and_embed(folder, "shots", progress)
        else:
            build_generated(specs[name], folder, progress)
            ingest_and_embed(folder, specs[name].clip_strategy, progress)
        seconds[name] = round(time.perf_counter() - tick, 1)
        log(f"{name}: ready in {seconds[name]} s")
    return seconds


class Clusterer:
    """k-means labels of one corpus, computed once per (modality, layer, k, seed): the same
    estimator and options as the pipeline's clusterings (spherical, 20 iterations)."""

    def __init__(self, corpus: EmbeddedCorpus) -> None:
        self.corpus = corpus
        self.cache: dict[tuple, np.ndarray] = {}
        self.cca = CCARanking().fit(stack_layers(corpus.audio), stack_layers(corpus.visual))
        self.cca_space = self.cca.transform(stack_layers(corpus.audio),
                                            stack_layers(corpus.visual))  # fmt: skip

    def labels(self, key: tuple, X: np.ndarray, k: int, seed: int) -> np.ndarray:
        if (*key, k, seed) not in self.cache:
            model = KMeansClustering(k=k, seed=seed, normalize=True).fit(X)
            self.cache[(*key, k, seed)] = model.predict(X)
        return self.cache[(*key, k, seed)]

    def ensemble(self, k: int, seed: int) -> tuple[np.ndarray, list[str], str]:
        """The clusterings ``ClusteringSet.train`` fits for the ensemble, under its names."""
        labels, names = [], []
        for modality, layers in (("audio", self.corpus.audio), ("visual", self.corpus.visual)):
            for layer, X in enumerate(layers):
                for kk, rep in ClusteringOptions().ensemble(k):
                    labels.append(self.labels((modality, layer), X, kk,
                                              seed + ENSEMBLE_SEED_STEP * rep))  # fmt: skip
                    names.append(variant_column(modality, layer, kk, rep) if (kk, rep) != (k, 0)
                                 else f"{modality}_{layer}")  # fmt: skip
        return np.stack(labels, axis=1), names, "bipartite"

    def columns(self, setting: dict, seed: int) -> tuple[np.ndarray, list[str], list]:
        """Labels ``(n_clips, n_clusterings)``, their names and the pairing to select with."""
        n = self.corpus.n_clips
        k = setting.get("k") or resolve_k(n, "auto", c=setting["clips_per_cell"])
        if setting.get("package_ensemble"):
            return self.ensemble(k, seed)
        ks = sorted({max(2, round(k * f)) for f in setting.get("k_set", (1.0,))})
        labels, names = [], []
        for modality, layers in (("audio", self.corpus.audio), ("visual", self.corpus.visual)):
            for layer, X in enumerate(layers):
                for kk in ks:
                    for rep in range(setting.get("kmeans_seeds", 1)):
                        labels.append(self.labels((modality, layer), X, kk, seed + 1000 * rep))
                        names.append(f"{modality}_{layer}k{kk}s{rep}")
        pairing = setting["pairing"]
        if setting.get("cca"):
            for modality, X in zip(("audio", "visual"), self.cca_space, strict=True):
                labels.append(self.labels((modality, "cca"), X, k, seed))
                names.append(f"{modality}_cca")
            if setting["cca"] > 1:
                audio = [c for c in names if c.startswith("audio_") and c != "audio_cca"]
                visual = [c for c in names if c.startswith("visual_") and c != "visual_cca"]
                pairing = [(a, v) for a in audio for v in visual]
                pairing += [("audio_cca", "visual_cca")] * int(setting["cca"])
        return np.stack(labels, axis=1), names, pairing


def evaluate(
    corpus: EmbeddedCorpus, seeds: int, settings: dict[str, dict]
) -> tuple[dict[str, list[float]], dict]:
    """Precision at the true-set size of every setting and baseline, one value a seed; and
    for the AUTO_SIZE settings the estimated share and the precision at that size."""
    truth, size = corpus.truth, int(corpus.truth.sum())
    clusterer = Clusterer(corpus)
    audio, visual = stack_layers(corpus.audio), stack_layers(corpus.visual)
    out: dict[str, list[float]] = {name: [] for name in [*settings, *BASELINES, CEILING]}
    auto: dict[str, dict[str, list[float]]] = {
        name: {"share": [], "low": [], "high": [], "precision": [], "precision_true": []}
        for name in AUTO_SIZE
        if name in settings
    }
    for seed in range(seeds):
        for name, change in settings.items():
            setting = {**DEFAULT, **change}
            labels, columns, pairing = clusterer.columns(setting, seed)
            search = {"strategy": setting["strategy"], "estimator": setting["estimator"],
                      "pairing": pairing, "seed": seed}  # fmt: skip
            selector = BatchGreedySelector(n_select=size, **search).fit(labels, columns)
            out[name].append(selection_scores(selector.order_, truth).precision)
            if name in auto:
                estimate = estimate_share(labels, columns, **search)
                picked = BatchGreedySelector(n_select=estimate.size, **search).fit(labels, columns)
                row = auto[name]
                row["share"].append(estimate.share)
                row["low"].append(estimate.low)
                row["high"].append(estimate.high)
                row["precision"].append(selection_scores(picked.order_, truth).precision)
                row["precision_true"].append(out[name][-1])
        orders = {
            "cca_ranking": clusterer.cca.order_,
            "contrastive": ContrastiveRanking(seed=seed).fit(audio, visual).order_,
            "random": random_order(corpus.n_clips, seed),
            CEILING: best_pairing_order(corpus.visual_class, corpus.audio_class),
        }
        for name, order in orders.items():
            out[name].append(selection_scores(order[:size], truth).precision)
        shares = ", ".join(f"{row['share'][-1]:.3f}" for row in auto.values())
        log(f"{corpus.name} seed {seed}: " + ", ".join(
            f"{name[:24]} {values[-1]:.3f}" for name, values in out.items())
            + f"; auto shares {shares} (true {truth.mean():.3f})")  # fmt: skip
    summary = {
        name: {
            "true_share": round(float(truth.mean()), 4),
            "share": round(float(np.mean(row["share"])), 4),
            "share_std": round(float(np.std(row["share"])), 4),
            "share_error": round(float(np.mean(row["share"]) - truth.mean()), 4),
            "share_worst_error": round(
                float(np.max(np.abs(np.array(row["share"]) - truth.mean()))), 4
            ),
            "share_range": [round(min(row["low"]), 4), round(max(row["high"]), 4)],
            "precision_at_auto": round(float(np.mean(row["precision"])), 4),
            "precision_at_true": round(float(np.mean(row["precision_true"])), 4),
        }
        for name, row in auto.items()
    }
    return out, summary


def markdown_table(precision: dict[str, dict[str, dict]], corpora: list[str]) -> str:
    """Rows the settings, columns the corpora, the worst corpus last (mean +- std)."""
    head = "| setting | " + " | ".join(corpora) + " | worst |"
    lines = [head, "|" + "---|" * (len(corpora) + 2)]
    for name, by_corpus in precision.items():
        cells = [f"{by_corpus[c]['mean']:.3f} +- {by_corpus[c]['std']:.3f}" for c in corpora]
        worst = min(corpora, key=lambda c: by_corpus[c]["mean"])
        lines.append(f"| {name} | " + " | ".join(cells)
                     + f" | **{by_corpus[worst]['mean']:.3f}** ({worst}) |")  # fmt: skip
    return "\n".join(lines)


def auto_table(auto: dict[str, dict[str, dict]], corpora: list[str]) -> str:
    """Per AUTO_SIZE setting and corpus: estimated share (true share), and precision at the
    estimated size against precision at the true size; the worst errors last."""
    lines = ["| setting | " + " | ".join(corpora) + " | worst share error | worst precision loss |",
             "|" + "---|" * (len(corpora) + 3)]  # fmt: skip
    for name, by_corpus in auto.items():
        cells = [
            f"{e['share']:.3f} +- {e['share_std']:.3f} ({e['true_share']:.3f}); "
            f"{e['precision_at_auto']:.3f} vs {e['precision_at_true']:.3f}"
            for e in (by_corpus[c] for c in corpora)
        ]
        worst = max(by_corpus[c]["share_worst_error"] for c in corpora)
        loss = max(by_corpus[c]["precision_at_true"] - by_corpus[c]["precision_at_auto"]
                   for c in corpora)  # fmt: skip
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {worst:.3f} | {loss:.3f} |")
    return "\n".join(lines)


def scored(args: argparse.Namespace, name: str, settings: dict[str, dict]) -> tuple:
    """One corpus's size, scores and auto-size estimates: from ``args.results`` when kept
    there for the same seeds and settings, else evaluated (and kept)."""
    kept = args.results / f"{name}.json" if args.results else None
    key = {"seeds": args.seeds, "settings": settings}
    if kept is not None and kept.is_file():
        saved = json.loads(kept.read_text(encoding="utf-8"))
        if saved["key"] == json.loads(json.dumps(key)):
            log(f"{name}: scores kept in {kept}")
            return saved["corpus"], saved["scores"], saved["estimates"]
    corpus = load_embedded(corpus_folder(args.data, name))
    metas = sorted((corpus_folder(args.data, name) / "home" / "embeddings").glob("*/*/_meta.json"))
    size = {
        "clips": corpus.n_clips,
        "true": int(corpus.truth.sum()),
        "versions": sorted({json.loads(m.read_text(encoding="utf-8"))["version"] for m in metas}),
    }
    tick = time.perf_counter()
    scores, estimates = evaluate(corpus, args.seeds, settings)
    size["evaluate_seconds"] = round(time.perf_counter() - tick, 1)
    size["loadavg"] = open("/proc/loadavg").read().split()[:3]
    if kept is not None:
        kept.parent.mkdir(parents=True, exist_ok=True)
        partial = kept.with_suffix(".part")
        partial.write_text(json.dumps({"key": key, "corpus": size, "scores": scores,
                                       "estimates": estimates}), encoding="utf-8")  # fmt: skip
        partial.replace(kept)
    return size, scores, estimates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="/work/data", type=Path)
    parser.add_argument("--corpora", nargs="*", default=[s.name for s in FAMILY] + [REAL])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument(
        "--skip-build",
        action="store_true",
        help="score what is cached as it is, without building or re-embedding (an embedding "
        "an earlier extractor version made is read as is; the JSON names each version)",
    )
    parser.add_argument(
        "--auto-only", action="store_true", help="only the AUTO_SIZE settings and the baselines"
    )
    parser.add_argument(
        "--results",
        type=Path,
        help="keep each corpus's scores in this folder and reuse them (same seeds and "
        "settings): corpora can be scored as they finish building, and the table put "
        "together at the end",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    build_seconds = {} if args.skip_build else build(args.data, args.corpora)
    if args.build_only:
        print(json.dumps({"benchmark": "quality", "build_seconds": build_seconds}))
        return
    faiss.omp_set_num_threads(1)
    specs = {spec.name: spec for spec in FAMILY}
    precision: dict[str, dict[str, dict]] = {}
    auto: dict[str, dict[str, dict]] = {}
    corpora: dict[str, dict] = {}
    tick = time.perf_counter()
    chosen = {n: c for n, c in SETTINGS.items() if not args.auto_only or n in AUTO_SIZE}
    for name in args.corpora:
        corpora[name], scores, estimates = scored(args, name, chosen)
        for setting, values in scores.items():
            spread = {m: round(x, 4) for m, x in mean_and_spread(values).items()}
            precision.setdefault(setting, {})[name] = spread
        for setting, estimate in estimates.items():
            auto.setdefault(setting, {})[name] = estimate
    identifiable = {name for name in corpora if name not in specs or specs[name].identifiable}
    log(markdown_table(precision, [c for c in corpora if c in identifiable]))
    log(auto_table(auto, [c for c in corpora if c in identifiable]))
    summary = {
        "benchmark": "quality",
        "seeds": args.seeds,
        "corpora": corpora,
        "precision": precision,
        "worst": {
            name: min(
                ((c, v) for c, v in by.items() if c in identifiable),
                key=lambda item: item[1]["mean"],
                default=(None, None),
            )[0]
            for name, by in precision.items()
        },
        "auto_size": auto,
        "not_identifiable": sorted(set(corpora) - identifiable),
        "build_seconds": build_seconds,
        "evaluate_seconds": round(time.perf_counter() - tick, 1),
        "loadavg": open("/proc/loadavg").read().split()[:3],
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
