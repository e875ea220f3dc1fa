"""``curation_sensor``: the first clusterings once shards are embedded, then each embedded
shard assigned and selected once per clustering version."""

from __future__ import annotations

import dagster as dg
import pyarrow.dataset as ds

from acav_assets.core.clustering import ClusteringOptions, ClusteringSet
from acav_assets.core.features import EmbeddingStore
from acav_assets.defs.clustering.jobs import clustering_job
from acav_assets.defs.partitions import shard_partitions
from acav_assets.defs.resources import AcavHome
from acav_assets.defs.selection.jobs import assign_job


@dg.sensor(jobs=[clustering_job, assign_job], minimum_interval_seconds=60)
def curation_sensor(context: dg.SensorEvaluationContext, acav: AcavHome):
    """Trains the first clusterings once shards are embedded (re-training stays a deliberate
    act), then assigns and selects every embedded shard not yet done under the current
    clustering version."""
    root = acav.storage()
    store = EmbeddingStore(root)
    extractors = ClusteringOptions().extractors()
    embedded = sorted(set.intersection(*(set(store.shards(e)) for e in extractors.values())))
    known = set(context.instance.get_dynamic_partitions(shard_partitions.name))
    embedded = [s for s in embedded if s in known]
    if not embedded:
        return dg.SkipReason("no shard has both audio and visual embeddings yet")
    version = ClusteringSet.latest_version(root)
    if version is None:
        return dg.RunRequest(job_name=clustering_job.name, run_key=f"first-clustering:{embedded}")
    # Only the version column of the shards that have assignments: never every label.
    tables = acav.tables()
    with_files = set(tables.shards("cluster_assignments"))
    assigned = tables.scan(
        "cluster_assignments",
        [s for s in embedded if s in with_files],
        ["clustering_version"],
        ds.field("clustering_version") == version,
    )
    done = set(assigned["shard"].to_list()) if assigned.height else set()
    todo = [s for s in embedded if s not in done]
    if not todo:
        return dg.SkipReason(f"every embedded shard is assigned under clustering {version}")
    return [
        dg.RunRequest(job_name=assign_job.name, partition_key=s, run_key=f"assign:{s}:{version}")
        for s in todo
    ]
