"""Dagster on PostgreSQL with the production storage settings: the manifest sensor, the runs
of a backfill of 3 shards (one run a shard, as SHARD_BACKFILL launches them) and the
publish job, every run, event and partition kept in a real PostgreSQL on loopback."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl
import yaml
from postgres_fixtures import production_instance_yaml
from sensor_fixtures import manifest_tick

from acav_assets.core.clustering import ClusteringOptions
from acav_assets.core.evaluation import CorpusInfo
from acav_assets.core.media import IngestOptions
from acav_assets.core.selection import SelectionOptions
from acav_assets.definitions import defs
from acav_assets.defs.local import Curation, LocalRunner, curate_shards
from acav_assets.defs.media.assets import SourcesConfig, sources
from acav_assets.defs.media.jobs import shard_job
from acav_assets.defs.resources import AcavHome

K8S_INSTANCE = Path(__file__).resolve().parents[2] / "deployments" / "dagster.k8s.yaml"


def test_sensor_backfill_and_publish_on_postgres(
    tmp_path: Path, small_corpus: CorpusInfo, postgres, monkeypatch
) -> None:
    for name, value in postgres.environment().items():
        monkeypatch.setenv(name, value)
    home = tmp_path / "dagster"
    home.mkdir()
    config = production_instance_yaml(postgres, yaml.safe_load(K8S_INSTANCE.read_text()))
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    acav = AcavHome(root=str(tmp_path / "acav"), media_roots=str(small_corpus.root))
    videos = sorted(str(p) for p in (small_corpus.root / "videos").glob("*.mp4"))[:6]
    root = acav.storage()
    root.write_bytes(root.path("sources", "three.csv"), ("path\n" + "\n".join(videos)).encode())
    curation = Curation(
        sources=(),
        ingest=IngestOptions(allowed_roots=(str(small_corpus.root),), clip_strategy="middle"),
        clustering=ClusteringOptions(k="3", max_cluster_share=0.8),
        selection=SelectionOptions(size=4),
    )
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"

        # the first tick sees the file; the next (nothing changed) registers it
        seen = manifest_tick(instance, acav, None)
        first = manifest_tick(instance, acav, seen.cursor)
        (register,) = first.run_requests
        (uri,) = register.run_config["ops"][sources.op.name]["config"]["manifests"]
        registered = defs.resolve_job_def(register.job_name).execute_in_process(
            run_config=dg.RunConfig(ops={sources.op.name: SourcesConfig(manifests=[uri],
                                                                        shard_size=2)}),
            instance=instance,
            resources={"acav": acav},
        )  # fmt: skip
        assert registered.success
        second = manifest_tick(instance, acav, first.cursor)
        shards = [r.partition_key for r in second.run_requests]
        assert len(shards) == 3 and {r.job_name for r in second.run_requests} == {shard_job.name}
        assert sorted(instance.get_dynamic_partitions("shards")) == sorted(shards)

        runner = LocalRunner(defs, acav, instance)
        runner.run([shard_job], curation.run_config(), shards=shards)
        curate_shards(runner, curation, shards)

        runs = instance.get_runs()
        assert runs and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        jobs = [r.job_name for r in runs]
        assert jobs.count(shard_job.name) == 3 and "publish_curated_set" in jobs
        exported = instance.get_latest_materialization_event(dg.AssetKey("curated_export"))
        assert exported.asset_materialization.metadata["rows"].value == 4
        idle = manifest_tick(instance, acav, second.cursor)
        assert not idle.run_requests and "no new manifest" in idle.skip_reason.skip_message
    export = pl.read_csv(root.path("exports", "default", "subset.csv"))
    assert export.height == 4
