"""``curation_sensor``: it waits for embeddings, trains the first clusterings, then assigns
and selects each embedded shard once per clustering version."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl

from acav_assets.defs.resources import AcavHome
from acav_assets.defs.selection.sensors import curation_sensor


def test_curation_sensor_waits_for_embeddings(tmp_path: Path) -> None:
    acav = AcavHome(root=str(tmp_path / "home"))
    context = dg.build_sensor_context(
        instance=dg.DagsterInstance.ephemeral(), resources={"acav": acav}
    )
    assert isinstance(curation_sensor(context), dg.SkipReason)


def _embed_fake_shard(store, shard: str, seed: int) -> None:
    """Stored embeddings under the default extractors' names, as a shard run leaves them."""
    import numpy as np

    from acav_assets.core.features import FeatureOptions

    rng = np.random.default_rng(seed)
    ids = [f"{shard}_{i}" for i in range(40)]
    for name in (FeatureOptions.audio_extractor, FeatureOptions.visual_extractor):
        store.write(name, shard, 0, ids, rng.normal(size=(40, 6)))
        store.write_meta(name, shard, {"version": f"{name}-test"})


def test_curation_sensor_trains_first_then_assigns_each_shard_once_per_version(
    tmp_path: Path,
) -> None:
    from acav_assets.core.clustering import ClusteringOptions, ClusteringSet, embedding_sources
    from acav_assets.core.features import EmbeddingStore

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
        sources = embedding_sources(store, ClusteringOptions().extractors())
        trained = ClusteringSet.train(store, sources, ["s1", "s2"], ClusteringOptions(k="3"))
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
