"""``new_manifest_sensor``: a manifest dropped into ``<root>/sources`` is registered once (a
run of ``register_sources``), then each of its shards is run once (``ingest_and_embed_shard``).

The sensor reads no manifest itself beyond its hash: registering a list of 100M rows is a
step of its own, with its own logs and retries, not work inside a sensor tick.
"""

from __future__ import annotations

import json

import dagster as dg

from acav_assets.core.media.sources import dropped_manifests, manifest_digest, shard_prefix
from acav_assets.defs.media.assets import SourcesConfig, sources
from acav_assets.defs.media.jobs import register_job, shard_job
from acav_assets.defs.partitions import shard_partitions
from acav_assets.defs.resources import AcavHome


def _register(uri: str, digest: str) -> dg.RunRequest:
    return dg.RunRequest(
        job_name=register_job.name,
        run_key=f"register:{uri}:{digest}",
        run_config=dg.RunConfig(ops={sources.op.name: SourcesConfig(manifests=[uri])}),
    )


@dg.sensor(jobs=[register_job, shard_job], minimum_interval_seconds=30)
def new_manifest_sensor(context: dg.SensorEvaluationContext, acav: AcavHome):
    """Registers each new or changed manifest in ``<root>/sources``, then requests one run
    per shard once its registration has added the partitions. A malformed manifest fails its
    own registration run, with its reason, and holds back no other."""
    root = acav.storage()
    # uri -> {"digest": sha256, "shards_requested": bool}
    seen: dict[str, dict] = json.loads(context.cursor or "{}")
    requests: list[dg.RunRequest] = []
    for uri in dropped_manifests(root):
        digest = manifest_digest(root, uri)
        if seen.get(uri, {}).get("digest") != digest:
            seen[uri] = {"digest": digest, "shards_requested": False}
            requests.append(_register(uri, digest))
    waiting = {uri: state for uri, state in seen.items() if not state["shards_requested"]}
    if waiting:
        partitions = context.instance.get_dynamic_partitions(shard_partitions.name)
        for uri, state in waiting.items():
            prefix = shard_prefix(uri, state["digest"]) + "-"
            keys = [k for k in partitions if k.startswith(prefix)]
            if keys:
                state["shards_requested"] = True
                requests += [
                    dg.RunRequest(job_name=shard_job.name, partition_key=k, run_key=f"shard:{k}")
                    for k in keys
                ]
    if not requests:
        return dg.SkipReason("no new manifest in sources/ and no newly registered shard")
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(seen))
