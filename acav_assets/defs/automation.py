"""Jobs, the sensors that react to new sources and new embeddings, the schedule that
republishes the curated set when new shards have landed since the last export, and the one
that asks again for the videos a site deferred."""

from __future__ import annotations

import hashlib
import json
import os
import posixpath

import dagster as dg

from acav_assets.core.curation import ClusteringSet
from acav_assets.core.features import EmbeddingStore
from acav_assets.core.media import ManifestError, register_manifest
from acav_assets.defs.curation.config import ClusteringConfig
from acav_assets.defs.execution import run_tags
from acav_assets.defs.partitions import shard_partitions
from acav_assets.defs.resources import AcavHome

SHARD_ASSETS = ["videos", "clips", "audio_embeddings", "visual_embeddings"]
MANIFEST_SHARD_SIZE = int(os.environ.get("ACAV_SHARD_SIZE", "1000"))

shard_job = dg.define_asset_job(
    "ingest_and_embed_shard",
    selection=SHARD_ASSETS,
    partitions_def=shard_partitions,
    description="Fetch, probe, filter and clip a shard's videos, then embed its clips.",
    tags=run_tags(downloads=True, gpu=True),
)
clustering_job = dg.define_asset_job(
    "train_clusterings", selection=["clusterings"], description="(Re-)train the clusterings."
)
assign_job = dg.define_asset_job(
    "assign_and_select_shard",
    selection=["cluster_assignments", "shard_selection"],
    partitions_def=shard_partitions,
    description="Label a shard's clips with the current clusterings and select within it.",
)
publish_job = dg.define_asset_job(
    "publish_curated_set",
    selection=dg.AssetSelection.assets("curated_subset", "curated_export", "curation_report")
    | dg.AssetSelection.groups("catalog"),
    description="Merge the shard selections, export the curated set, refresh the catalog "
    "models and the report.",
)


def _digest(acav: AcavHome, path: str) -> str:
    return hashlib.sha256(acav.storage().read_bytes(path)).hexdigest()


@dg.sensor(job=shard_job, minimum_interval_seconds=30)
def new_manifest_sensor(context: dg.SensorEvaluationContext, acav: AcavHome):
    """Registers each new or changed manifest in ``<root>/sources``, adds its shard
    partitions and requests one run per shard; a malformed manifest is skipped, with its
    reason, and does not hold back the others."""
    root = acav.storage()
    seen: dict[str, str] = json.loads(context.cursor or "{}")
    # As URLs (``s3://...``) when the root is remote: the manifest is read from the bucket.
    files = [
        root.uri("sources", posixpath.basename(p))
        for p in root.glob("sources", "*")
        if root.fs.isfile(p)
    ]
    added: list[str] = []
    problems: list[str] = []
    for path in files:
        digest = _digest(acav, path)
        if seen.get(path) == digest:
            continue
        seen[path] = digest
        try:
            keys = register_manifest(path, acav.tables(), shard_size=MANIFEST_SHARD_SIZE)
        except ManifestError as error:
            problems.append(str(error))
            context.log.warning(f"skipped malformed manifest: {error}")
            continue
        added += [k for k in keys if k not in added]
    if not added:
        return dg.SkipReason("; ".join(problems) or "no new manifests in sources/")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(partition_key=key, run_key=f"shard:{key}") for key in added],
        dynamic_partitions_requests=[shard_partitions.build_add_request(added)],
        cursor=json.dumps(seen),
    )


@dg.sensor(jobs=[clustering_job, assign_job], minimum_interval_seconds=60)
def curation_sensor(context: dg.SensorEvaluationContext, acav: AcavHome):
    """Trains the first clusterings once shards are embedded (re-training stays a deliberate
    act), then assigns and selects every embedded shard not yet done under the current
    clustering version."""
    root = acav.storage()
    store = EmbeddingStore(root)
    defaults = ClusteringConfig()
    embedded = sorted(
        set(store.shards(defaults.audio_extractor)) & set(store.shards(defaults.visual_extractor))
    )
    embedded = [
        s
        for s in embedded
        if shard_partitions.has_partition_key(s, dynamic_partitions_store=context.instance)
    ]
    if not embedded:
        return dg.SkipReason("no shard has both audio and visual embeddings yet")
    version = ClusteringSet.latest_version(root)
    if version is None:
        return dg.RunRequest(job_name=clustering_job.name, run_key=f"first-clustering:{embedded}")
    assigned = acav.tables().read("cluster_assignments")
    done = set()
    if "clustering_version" in assigned.columns:
        current = assigned.filter(assigned["clustering_version"] == version)
        done = set(current["shard"].to_list())
    todo = [s for s in embedded if s not in done]
    if not todo:
        return dg.SkipReason(f"every embedded shard is assigned under clustering {version}")
    return [
        dg.RunRequest(job_name=assign_job.name, partition_key=s, run_key=f"assign:{s}:{version}")
        for s in todo
    ]


def _latest_storage_id(instance: dg.DagsterInstance, asset: str) -> int | None:
    records = instance.fetch_materializations(dg.AssetKey(asset), limit=1).records
    return records[0].storage_id if records else None


@dg.schedule(job=publish_job, cron_schedule="*/15 * * * *")
def publish_schedule(context: dg.ScheduleEvaluationContext):
    """Re-runs the merge, export and report when a shard selection landed after the last
    export."""
    selected = _latest_storage_id(context.instance, "shard_selection")
    if selected is None:
        return dg.SkipReason("no shard selection yet")
    exported = _latest_storage_id(context.instance, "curated_export")
    if exported is not None and exported > selected:
        return dg.SkipReason("no new shard selection since the last export")
    return dg.RunRequest(run_key=f"publish:{selected}")


RETRY_COOLDOWN_S = 3600  # yt-dlp: YouTube rate-limits a session "for up to an hour"
RETRY_LOOKBACK = 10_000  # the latest shard materializations searched for deferred videos


@dg.schedule(job=shard_job, cron_schedule="*/15 * * * *")
def retry_deferred_schedule(context: dg.ScheduleEvaluationContext):
    """Re-runs each shard whose last ingestion left videos deferred, rate-limited or
    bot-checked (its ``retry_soon`` count), once its sites had an hour to cool down; one run
    per materialization, so a shard still refused is asked again an hour later."""
    now = context.scheduled_execution_time.timestamp()
    records = context.instance.fetch_materializations(
        dg.AssetKey("videos"), limit=RETRY_LOOKBACK
    ).records
    latest: dict[str, dg.EventLogRecord] = {}
    for record in records:  # newest first
        key = record.partition_key
        if key is not None and key not in latest:
            latest[key] = record
    requests = []
    for key, record in sorted(latest.items()):
        metadata = record.asset_materialization.metadata if record.asset_materialization else {}
        waiting = metadata.get("retry_soon")
        if waiting is None or not waiting.value or now - record.timestamp < RETRY_COOLDOWN_S:
            continue
        requests.append(
            dg.RunRequest(partition_key=key, run_key=f"retry:{key}:{record.storage_id}")
        )
    return requests or dg.SkipReason("no shard has deferred videos that cooled down")


defs = dg.Definitions(
    jobs=[shard_job, clustering_job, assign_job, publish_job],
    sensors=[new_manifest_sensor, curation_sensor],
    schedules=[publish_schedule, retry_deferred_schedule],
)
