"""Sensors and the schedule: new manifests become partitions and runs exactly once, a
malformed one is skipped with its reason, and publishing waits for new selections."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl

from acav_assets.core.evaluation import CorpusInfo
from acav_assets.defs.automation import curation_sensor, new_manifest_sensor, publish_schedule
from acav_assets.defs.resources import AcavHome


def _evaluate(instance: dg.DagsterInstance, acav: AcavHome, cursor: str | None = None):
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"acav": acav})
    return new_manifest_sensor(context)


def test_a_new_manifest_yields_partitions_and_runs_once(
    tmp_path: Path, small_corpus: CorpusInfo, write_manifest
) -> None:
    acav = AcavHome(root=str(tmp_path / "home"))
    videos = sorted(str(p) for p in (small_corpus.root / "videos").glob("*.mp4"))[:3]
    write_manifest(tmp_path / "home" / "sources", videos)
    instance = dg.DagsterInstance.ephemeral()
    result = _evaluate(instance, acav)
    assert isinstance(result, dg.SensorResult)
    (request,) = result.dynamic_partitions_requests
    assert len(request.partition_keys) == 1
    (run,) = result.run_requests
    assert run.partition_key == request.partition_keys[0]
    assert run.run_key == f"shard:{run.partition_key}"
    assert acav.tables().read("sources", [run.partition_key]).height == 3

    again = _evaluate(instance, acav, cursor=result.cursor)
    assert isinstance(again, dg.SkipReason)


def test_a_malformed_manifest_is_skipped_with_its_reason_and_the_next_good_one_runs(
    tmp_path: Path, small_corpus: CorpusInfo, write_manifest
) -> None:
    acav = AcavHome(root=str(tmp_path / "home"))
    sources = tmp_path / "home" / "sources"
    sources.mkdir(parents=True)
    (sources / "a_broken.jsonl").write_text('{"path": "x.mp4"}\n{not json\n')
    instance = dg.DagsterInstance.ephemeral()
    skipped = _evaluate(instance, acav)
    assert isinstance(skipped, dg.SkipReason)
    assert "a_broken.jsonl" in skipped.skip_message and "line 2" in skipped.skip_message

    videos = sorted(str(p) for p in (small_corpus.root / "videos").glob("*.mp4"))[:2]
    write_manifest(sources, videos, name="b_good.csv")
    result = _evaluate(instance, acav)
    assert isinstance(result, dg.SensorResult)
    assert len(result.run_requests) == 1
    assert acav.tables().shards("sources") == [result.run_requests[0].partition_key]


def test_curation_sensor_waits_for_embeddings(tmp_path: Path) -> None:
    acav = AcavHome(root=str(tmp_path / "home"))
    context = dg.build_sensor_context(
        instance=dg.DagsterInstance.ephemeral(), resources={"acav": acav}
    )
    assert isinstance(curation_sensor(context), dg.SkipReason)


def test_publish_schedule_runs_only_when_a_selection_landed_after_the_last_export() -> None:
    with dg.instance_for_test() as instance:

        def evaluate():
            return publish_schedule(dg.build_schedule_context(instance=instance))

        assert isinstance(evaluate(), dg.SkipReason)
        instance.report_runless_asset_event(dg.AssetMaterialization("shard_selection"))
        first = evaluate()
        assert isinstance(first, dg.RunRequest)
        instance.report_runless_asset_event(dg.AssetMaterialization("curated_export"))
        assert isinstance(evaluate(), dg.SkipReason)
        instance.report_runless_asset_event(dg.AssetMaterialization("shard_selection"))
        second = evaluate()
        assert isinstance(second, dg.RunRequest) and second.run_key != first.run_key


def _embed_fake_shard(store, shard: str, seed: int) -> None:
    """Stored embeddings under the default extractors' names, as a shard run leaves them."""
    import numpy as np

    from acav_assets.core.features import DEFAULT_AUDIO_EXTRACTOR, DEFAULT_VISUAL_EXTRACTOR

    rng = np.random.default_rng(seed)
    ids = [f"{shard}_{i}" for i in range(40)]
    for name in (DEFAULT_AUDIO_EXTRACTOR, DEFAULT_VISUAL_EXTRACTOR):
        store.write(name, shard, 0, ids, rng.normal(size=(40, 6)))
        store.write_meta(name, shard, {"version": f"{name}-test"})


def test_curation_sensor_trains_first_then_assigns_each_shard_once_per_version(
    tmp_path: Path,
) -> None:
    from acav_assets.core.curation import ClusteringSet, embedding_sources
    from acav_assets.core.features import EmbeddingStore
    from acav_assets.defs.curation.config import ClusteringConfig

    acav = AcavHome(root=str(tmp_path / "home"))
    store = EmbeddingStore(acav.storage())
    for seed, shard in enumerate(("s1", "s2")):
        _embed_fake_shard(store, shard, seed)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("shards", ["s1", "s2"])

        def evaluate():
            context = dg.build_sensor_context(instance=instance, resources={"acav": acav})
            return curation_sensor(context)

        first = evaluate()
        assert isinstance(first, dg.RunRequest) and first.job_name == "train_clusterings"
        sources = embedding_sources(store, ClusteringConfig().extractors())
        trained = ClusteringSet.train(store, sources, ["s1", "s2"], k=3)
        trained.save(acav.storage())
        requests = evaluate()
        assert [(r.job_name, r.partition_key) for r in requests] == [
            ("assign_and_select_shard", "s1"),
            ("assign_and_select_shard", "s2"),
        ]
        frame = trained.assign(store, "s1").with_columns(
            pl.lit(trained.version).alias("clustering_version")
        )
        acav.tables().write("cluster_assignments", "s1", frame)
        (remaining,) = evaluate()
        assert remaining.partition_key == "s2"
        assert remaining.run_key == f"assign:s2:{trained.version}"
