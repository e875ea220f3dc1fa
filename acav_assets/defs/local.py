"""The code location's jobs, run in this process on the local instance.

This is what the ``acav`` command runs: the same jobs the sensors and the UI launch, with
typed run config, so a local curation leaves the same runs, materializations and checks that
``make dev`` then shows. The jobs of one call run in the order of the asset graph; a
partitioned job runs once per shard.
"""

from __future__ import annotations

import graphlib
import hashlib
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import dagster as dg

from acav_assets.core.clustering import ClusteringOptions
from acav_assets.core.evaluation import EvaluationOptions
from acav_assets.core.evaluation.correspondence import load_evaluation
from acav_assets.core.export import ExportOptions, copy_export
from acav_assets.core.features import EmbeddingStore, FeatureOptions, get_extractor
from acav_assets.core.features.shards import pending_shards
from acav_assets.core.media import IngestOptions
from acav_assets.core.selection import (
    SelectionOptions,
    group_shards_of,
    read_curated_subset,
    shard_ratio_for,
)
from acav_assets.defs.clustering import assets as clustering
from acav_assets.defs.clustering.jobs import clustering_job
from acav_assets.defs.config import to_config
from acav_assets.defs.evaluation import assets as evaluation
from acav_assets.defs.evaluation.jobs import evaluation_job
from acav_assets.defs.export import assets as export
from acav_assets.defs.export.jobs import publish_job
from acav_assets.defs.features import assets as features
from acav_assets.defs.media import assets as media
from acav_assets.defs.media.jobs import register_job, shard_job
from acav_assets.defs.partitions import merge_group_partitions, shard_partitions
from acav_assets.defs.resources import AcavHome
from acav_assets.defs.selection import assets as selection
from acav_assets.defs.selection.jobs import assign_job, merge_group_job

Stage = Callable[[str, int, int], None]


class PipelineError(RuntimeError):
    """A run of the pipeline failed; the message names the run and the failed steps."""


def local_instance(acav: AcavHome, dagster_home: str | None = None) -> dg.DagsterInstance:
    """The Dagster instance beside the data: ``<root>/dagster`` (SQLite, shared with ``make
    dev``). SQLite needs a local disk, so for a bucket it is ``dagster_home`` (the caller's
    ``$DAGSTER_HOME``), else a cache folder per bucket URL."""
    root = acav.storage()
    if root.is_local:
        folder = root.path("dagster")
    else:
        digest = hashlib.sha256(root.url.encode()).hexdigest()[:16]
        cache = os.path.join(os.path.expanduser("~"), ".cache", "acav", f"dagster-{digest}")
        folder = dagster_home or cache
    os.makedirs(folder, exist_ok=True)
    return dg.DagsterInstance.from_config(folder)


def _root_cause(error: Any) -> str:
    """The innermost error of a step failure (the user code's exception), as one line."""
    if error is None:
        return "no error recorded"
    while error.cause is not None:
        error = error.cause
    return f"{error.cls_name}: {error.message.strip()}"


class LocalRunner:
    """Runs jobs of ``definitions`` on ``instance`` with the resource ``acav``."""

    def __init__(
        self,
        definitions: dg.Definitions,
        acav: AcavHome,
        instance: dg.DagsterInstance,
        stage: Stage | None = None,
    ) -> None:
        self.definitions = definitions
        self.acav = acav  # as runs take it: environment variables resolved per run
        self.home = acav.process_config_and_initialize()  # for reads outside a run
        self.instance = instance
        self.stage = stage or (lambda *_: None)
        self.began = time.perf_counter()
        self._graph = definitions.resolve_asset_graph()

    def _order(self, jobs: Iterable[dg.JobDefinition]) -> list[dg.JobDefinition]:
        """Jobs in the order of the asset graph: a job runs after every job that
        materializes an asset upstream of its own."""
        resolved = {job.name: self.definitions.resolve_job_def(job.name) for job in jobs}
        owned = {n: set(j.asset_layer.executable_asset_keys) for n, j in resolved.items()}
        upstream = {
            n: {a for key in keys for a in self._graph.get_ancestor_asset_keys(key)}
            for n, keys in owned.items()
        }
        after = {n: {m for m in owned if m != n and owned[m] & upstream[n]} for n in owned}
        order = graphlib.TopologicalSorter(after).static_order()
        return [resolved[name] for name in order]

    def run(
        self,
        jobs: Iterable[dg.JobDefinition],
        config: Mapping[dg.AssetsDefinition, dg.Config],
        *,
        shards: Sequence[str] = (),
        assets: Iterable[dg.AssetKey] | None = None,
    ) -> list[dg.ExecuteInProcessResult]:
        """Run ``jobs`` in graph order, partitioned ones once per shard; ``config`` gives each
        asset's op its config (ops outside a job are left out of its run config); ``assets``
        limits the runs to these assets."""
        ordered = self._order(jobs)
        steps = [
            (job, shard)
            for job in ordered
            for shard in (shards if job.partitions_def is not None else [None])
        ]
        results = []
        for done, (job, shard) in enumerate(steps):
            self.stage(f"{job.name} {shard or ''}".strip(), done, len(steps))
            results.append(self._run_one(job, config, shard, assets))
        self.stage("done", len(steps), len(steps))
        return results

    def _run_one(
        self,
        job: dg.JobDefinition,
        config: Mapping[dg.AssetsDefinition, dg.Config],
        shard: str | None,
        assets: Iterable[dg.AssetKey] | None,
    ) -> dg.ExecuteInProcessResult:
        keys = set(assets) if assets is not None else None
        target = job.get_subset(asset_selection=keys) if keys else job
        nodes = set(target.graph.node_dict)
        ops = {a.op.name: c for a, c in config.items() if a.op.name in nodes}
        result = target.execute_in_process(
            run_config=dg.RunConfig(
                ops=ops, loggers={"console": {"config": {"log_level": "INFO"}}}
            ),
            instance=self.instance,
            partition_key=shard,
            resources={"acav": self.acav},
            raise_on_error=False,
        )
        if not result.success:
            failures = [e for e in result.all_events if e.is_step_failure]
            errors = [_root_cause(e.event_specific_data.error) for e in failures]
            where = f" (shard {shard})" if shard else ""
            raise PipelineError(
                f"run {result.run_id} of {job.name}{where} failed in "
                f"{[e.step_key for e in failures]}: " + " | ".join(errors)[-2000:]
            )
        return result

    def registered_shards(self, prefixes: Sequence[str]) -> list[str]:
        """Shard partitions whose key starts with one of the manifests' ``prefixes``."""
        keys = self.instance.get_dynamic_partitions(shard_partitions.name)
        return [k for k in keys if any(k.startswith(p + "-") for p in prefixes)]


@dataclass(frozen=True)
class Curation:
    """One local curation: its sources and the options of every domain; ``report_to`` is a
    local file the report is also written to."""

    sources: tuple[str, ...]
    ingest: IngestOptions = IngestOptions()
    features: FeatureOptions = FeatureOptions()
    clustering: ClusteringOptions = ClusteringOptions()
    selection: SelectionOptions = SelectionOptions()
    export: ExportOptions = ExportOptions()
    report_to: str | None = None

    def run_config(self) -> dict[dg.AssetsDefinition, dg.Config]:
        """Each asset's config, as the UI's launchpad would take it."""
        return {
            media.sources: media.SourcesConfig(
                manifests=list(self.sources), shard_size=self.ingest.shard_size
            ),
            media.ingested_shard: to_config(media.IngestConfig, self.ingest),
            features.embedded_shard: to_config(features.EmbeddingConfig, self.features),
            clustering.clusterings: to_config(clustering.ClusteringConfig, self.clustering),
            selection.shard_selection: to_config(selection.ShardSelectionConfig, self.selection),
            selection.group_selection: to_config(selection.SubsetConfig, self.selection),
            selection.curated_subset: to_config(selection.SubsetConfig, self.selection),
            export.curated_export: to_config(export.ExportConfig, self.export),
            evaluation.curation_report: evaluation.ReportConfig(copy_to=self.report_to),
        }


def register_sources(runner: LocalRunner, curation: Curation, prefixes: Sequence[str]) -> list[str]:
    """Register the curation's manifests; returns their shard keys (``prefixes``: each
    manifest's ``shard_prefix``)."""
    runner.run([register_job], curation.run_config())
    return runner.registered_shards(prefixes)


def ingest_shards(
    runner: LocalRunner,
    curation: Curation,
    shards: Sequence[str],
    assets: Iterable[dg.AssetKey] | None = None,
) -> list[dg.ExecuteInProcessResult]:
    """Each shard through the shard job (or only its ``assets``)."""
    return runner.run([shard_job], curation.run_config(), shards=shards, assets=assets)


def curate_shards(runner: LocalRunner, curation: Curation, shards: Sequence[str]) -> None:
    """Train the clusterings, assign and select each shard, merge each group of shards (when
    there are several), extend the curated set, export, report. With a global ``size`` each
    shard keeps enough winners for the merge to choose from."""
    clips = runner.home.tables().read("clips", list(shards)).height
    chosen = curation.selection
    ratio = shard_ratio_for(chosen.size, clips, chosen.shard_ratio)
    curation = replace(curation, selection=replace(chosen, shard_ratio=ratio))
    config = curation.run_config()
    runner.run([clustering_job, assign_job], config, shards=shards)
    groups = list(group_shards_of(list(shards), chosen.merge_group_shards))
    if len(groups) > 1:
        runner.instance.add_dynamic_partitions(merge_group_partitions.name, groups)
        runner.run([merge_group_job], config, shards=groups)
    runner.run([publish_job], config)


def evaluate_corpus(
    runner: LocalRunner, curation: Curation, shards: Sequence[str], corpus: str, seeds: int
) -> dict[str, Any]:
    """The controlled test of the ingested corpus, with the curation's own clustering and
    selection settings; returns the stored result."""
    options = EvaluationOptions(
        corpus=corpus, seeds=seeds, clustering=curation.clustering, selection=curation.selection
    )
    config = to_config(evaluation.EvaluationConfig, options)
    runner.run([evaluation_job], {evaluation.evaluation: config})
    result = load_evaluation(runner.home.storage(), shards)
    if result is None:
        raise PipelineError(f"the evaluation of {corpus} stored no result for shards {shards}")
    return result


def curate_sources(runner: LocalRunner, curation: Curation, prefixes: Sequence[str]) -> list[str]:
    """The whole graph for the curation's sources: register, ingest and embed each shard,
    then cluster, select, merge, export and report; returns the shards."""
    shards = register_sources(runner, curation, prefixes)
    ingest_shards(runner, curation, shards)
    curate_shards(runner, curation, shards)
    return shards


def summarize(
    runner: LocalRunner, curation: Curation, shards: Sequence[str], out: str
) -> dict[str, Any]:
    """Counts of the run's shards and the objective; the export is copied into ``out``."""
    home = runner.home
    tables = home.tables()
    files = copy_export(home.storage(), curation.export.name, out)
    videos = tables.read("videos", list(shards))
    latest = runner.instance.get_latest_materialization_event(dg.AssetKey("curated_subset"))
    metadata = latest.asset_materialization.metadata if latest else {}
    return {
        "videos": videos.height,
        "videos_ok": int((videos["status"] == "ok").sum()) if videos.height else 0,
        "clips": tables.read("clips", list(shards)).height,
        "selected": read_curated_subset(home.storage(), tables).height,
        "objective": float(metadata["objective"].value) if "objective" in metadata else None,
        "shards": list(shards),
        "out": os.path.abspath(out),
        "files": files,
        "report": curation.report_to,
        "seconds": round(time.perf_counter() - runner.began, 2),
    }


def embed_pending(
    runner: LocalRunner,
    options: FeatureOptions,
    modalities: Sequence[str],
    only: Sequence[str] | None,
    force: bool,
) -> tuple[list[str], list[dg.ExecuteInProcessResult]]:
    """The embedding assets of ``modalities`` for every ingested shard (or those in ``only``)
    that lacks its extractor's current version (every one with ``force``); returns the
    shards and the runs."""
    home = runner.home
    tables, store = home.tables(), EmbeddingStore(home.storage())
    known = tables.shards("clips")
    unknown = sorted(set(only or []) - set(known))
    if unknown:
        raise PipelineError(f"shards {unknown} have no clips; known: {known}")
    extractors = {
        features.MODALITY_ASSETS[m]: get_extractor(
            options.extractor(m),
            weights=options.weights(m),
            cache_dir=options.weights_cache,
            precision=options.precision,
        )
        for m in modalities
    }
    pending = pending_shards(store, tables, list(extractors.values()), force)
    pending = {s: todo for s, todo in pending.items() if only is None or s in only}
    groups: dict[tuple[str, ...], list[str]] = {}
    for shard, todo in pending.items():
        assets = tuple(a for a, e in extractors.items() if e in todo)
        groups.setdefault(assets, []).append(shard)
    runner.instance.add_dynamic_partitions(shard_partitions.name, sorted(pending))
    curation = Curation(sources=(), features=options)
    results = [
        result
        for assets, shards in groups.items()
        for result in ingest_shards(runner, curation, shards, [dg.AssetKey(a) for a in assets])
    ]
    return sorted(pending), results
