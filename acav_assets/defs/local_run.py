"""The whole asset graph, in this process, on a local Dagster instance: what ``acav curate``
and ``acav demo`` run, and what the UI then shows in its history."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

from acav_assets.core.curation import embedding_sources
from acav_assets.core.curation.correspondence import evaluate_correspondence
from acav_assets.core.evaluation import load_truth
from acav_assets.core.features import EmbeddingStore
from acav_assets.core.media import register_manifest
from acav_assets.defs.automation import SHARD_ASSETS
from acav_assets.defs.curation.config import ClusteringConfig
from acav_assets.defs.export.report import EVALUATION_PATH
from acav_assets.defs.resources import AcavHome

ASSIGN_ASSETS = ["cluster_assignments", "shard_selection"]
PUBLISH_ASSETS = ["curated_subset", "curated_export"]


@dataclass
class CurationRequest:
    """What to curate and how; the fields become run config of the assets."""

    sources: Sequence[str]
    out_dir: str
    size: int | None = None
    ratio: float | None = None
    shard_ratio: float = 0.2  # raised when ``size`` needs more winners per shard
    shard_size: int = 1000
    allowed_roots: Sequence[str] = ()
    clip_strategy: str = "shots"
    min_duration_s: float = 30.0
    k: str = "auto"
    seed: int = 0
    strategy: str = "backward"
    estimator: str = "plugin"
    pairing: str = "bipartite"
    webdataset: bool = False
    export_name: str = "default"
    ops_extra: dict[str, dict[str, Any]] = field(default_factory=dict)


def local_instance(home: str) -> dg.DagsterInstance:
    """The Dagster instance under ``<home>/dagster`` (SQLite), shared with ``make dev``. SQLite
    needs a local disk, so for a bucket it is ``$DAGSTER_HOME``, else a cache folder per URL."""
    folder = os.path.join(home, "dagster")
    if "://" in home:
        digest = hashlib.sha256(home.encode()).hexdigest()[:16]
        cache = os.path.join(os.path.expanduser("~"), ".cache", "acav", f"dagster-{digest}")
        folder = os.environ.get("DAGSTER_HOME") or cache
    os.makedirs(folder, exist_ok=True)
    # `make dev` puts deployments/dagster.yaml there, which names its storage by $DAGSTER_HOME.
    os.environ["DAGSTER_HOME"] = folder
    return dg.DagsterInstance.from_config(folder)


# The ops behind the multi-assets, whose config applies when any of their assets runs.
_MULTI_ASSET_OPS = {
    "ingested_shard": {"videos", "clips"},
    "embedded_shard": {"audio_embeddings", "visual_embeddings"},
}


def _run_config(request: CurationRequest, selection: Sequence[str]) -> dict[str, Any]:
    """Run config of the ops that materializing ``selection`` runs (Dagster rejects config
    for ops outside the run)."""
    search = {
        "strategy": request.strategy,
        "estimator": request.estimator,
        "pairing": request.pairing,
        "seed": request.seed,
    }
    ops: dict[str, dict[str, Any]] = {
        "ingested_shard": {
            "allowed_roots": [os.path.abspath(r) for r in request.allowed_roots],
            "clip_strategy": request.clip_strategy,
            "min_duration_s": request.min_duration_s,
        },
        "clusterings": {"k": request.k, "seed": request.seed},
        "shard_selection": {**search, "ratio": request.shard_ratio},
        "curated_subset": {**search, "size": request.size, "ratio": request.ratio},
        "curated_export": {"name": request.export_name, "webdataset": request.webdataset},
        "curation_report": {"copy_to": os.path.join(request.out_dir, "report.html")},
    }
    for op, extra in request.ops_extra.items():
        ops.setdefault(op, {}).update(extra)
    wanted = set(selection) | {op for op, keys in _MULTI_ASSET_OPS.items() if keys & set(selection)}
    return {
        "ops": {op: {"config": config} for op, config in ops.items() if op in wanted},
        "loggers": {"console": {"config": {"log_level": "INFO"}}},
    }


class LocalCuration:
    """One curation on the local instance, in two phases: ``prepare`` registers the sources
    and runs every shard through ingestion and features; ``finish`` trains the clusterings,
    assigns and selects each shard, merges, exports, and builds the SQL models and the
    report. Between them a caller may look at the data (the evaluation sets the target size
    from the truth there). ``stage(label, done, total)`` reports progress."""

    def __init__(
        self,
        request: CurationRequest,
        acav: AcavHome,
        definitions: dg.Definitions,
        stage: Callable[[str, int, int], None] = lambda *_: None,
    ) -> None:
        self.request = request
        self.acav = acav
        self.definitions = definitions
        self.stage = stage
        self.instance = local_instance(acav.root)
        self.tables = acav.tables()
        self.shards: list[str] = []
        self.began = time.perf_counter()
        self._assets = list(definitions.assets or []) + list(definitions.asset_checks or [])
        self._done = 0

    def _materialize(self, selection: Sequence[str], partition: str | None = None) -> None:
        run_config = _run_config(self.request, selection)
        dg.materialize(
            self._assets,
            selection=selection,
            partition_key=partition,
            instance=self.instance,
            resources={"acav": self.acav},
            run_config=run_config,
        )

    def _step(self, label: str) -> None:
        self.stage(label, self._done, 2 * len(self.shards) + 3)
        self._done += 1

    def prepare(self) -> list[str]:
        for source in self.request.sources:
            keys = register_manifest(source, self.tables, self.request.shard_size)
            self.shards += [k for k in keys if k not in self.shards]
        self.instance.add_dynamic_partitions("shards", self.shards)
        for shard in self.shards:
            self._step(f"ingest and embed {shard}")
            self._materialize(SHARD_ASSETS, shard)
        return self.shards

    def finish(self) -> dict[str, Any]:
        request, tables = self.request, self.tables
        total_clips = tables.read("clips").height
        if request.size is not None and total_clips:
            needed = 2 * request.size / total_clips
            request.shard_ratio = min(1.0, max(request.shard_ratio, needed))
        self._step("train clusterings")
        self._materialize(["clusterings"])
        for shard in self.shards:
            self._step(f"assign and select {shard}")
            self._materialize(ASSIGN_ASSETS, shard)
        self._step("merge and export")
        self._materialize(PUBLISH_ASSETS)
        self._step("catalog models and report")
        graph = self.definitions.resolve_asset_graph()
        models = [k.to_user_string() for k in graph.get_all_asset_keys()
                  if graph.get(k).group_name == "catalog"]  # fmt: skip
        self._materialize([*models, "curation_report"])
        self.stage("done", self._done, self._done)
        return self._summary()

    def _summary(self) -> dict[str, Any]:
        request, tables = self.request, self.tables
        root = self.acav.storage()
        export_dir = root.path("exports", request.export_name)
        os.makedirs(request.out_dir, exist_ok=True)
        for name in ("subset.csv", "subset.parquet"):
            root.fs.get(f"{export_dir}/{name}", os.path.join(request.out_dir, name))
        videos = tables.read("videos")
        latest = self.instance.get_latest_materialization_event(dg.AssetKey("curated_subset"))
        metadata = latest.asset_materialization.metadata if latest else {}
        return {
            "videos": videos.height,
            "videos_ok": int((videos["status"] == "ok").sum()) if videos.height else 0,
            "clips": tables.read("clips").height,
            "selected": tables.read("curated_subset", ["all"]).height,
            "objective": float(metadata["objective"].value) if "objective" in metadata else None,
            "shards": self.shards,
            "out": os.path.abspath(request.out_dir),
            "report": os.path.abspath(os.path.join(request.out_dir, "report.html")),
            "seconds": round(time.perf_counter() - self.began, 2),
        }


def curate_in_process(
    request: CurationRequest,
    acav: AcavHome,
    definitions: dg.Definitions,
    stage: Callable[[str, int, int], None] = lambda *_: None,
) -> dict[str, Any]:
    """The whole graph for ``request``; returns the summary."""
    curation = LocalCuration(request, acav, definitions, stage)
    curation.prepare()
    return curation.finish()


def evaluate_in_process(
    request: CurationRequest,
    acav: AcavHome,
    definitions: dg.Definitions,
    corpus_dir: str,
    *,
    seeds: Sequence[int],
    stage: Callable[[str, int, int], None] = lambda *_: None,
) -> dict[str, Any]:
    """Curate a corpus with a known truth to the size of its true set, after scoring acav
    and the baselines over ``seeds``; the scores go into the report and the summary."""
    curation = LocalCuration(request, acav, definitions, stage)
    curation.prepare()
    stage(f"evaluate over {len(seeds)} seeds", 0, len(seeds))
    root = acav.storage()
    sources = embedding_sources(EmbeddingStore(root), ClusteringConfig().extractors())
    result = evaluate_correspondence(
        root,
        curation.tables,
        load_truth(corpus_dir),
        sources,
        seeds=seeds,
        k=ClusteringConfig(k=request.k).resolved_k(),
        pairing=request.pairing,
        estimator=request.estimator,
        strategy=request.strategy,
        progress=lambda done, total: stage(f"evaluate seed {done}/{total}", done, total),
    )
    payload = json.dumps(result, indent=2).encode()
    root.write_bytes(root.path(*EVALUATION_PATH), payload)
    request.size = result["true_set_size"]
    summary = curation.finish()
    with open(os.path.join(request.out_dir, "evaluation.json"), "wb") as handle:
        handle.write(payload)
    precision = {name: m["precision"] for name, m in result["methods"].items()}
    summary.update(
        {
            "true_set_size": result["true_set_size"],
            "candidates": result["candidates"],
            "precision": {name: round(p["mean"], 4) for name, p in precision.items()},
            "precision_std": {name: round(p["std"], 4) for name, p in precision.items()},
            "seconds": round(time.perf_counter() - curation.began, 2),
        }
    )
    return summary
