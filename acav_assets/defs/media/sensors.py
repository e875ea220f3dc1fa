"""``new_manifest_sensor``: a manifest dropped into ``<root>/sources`` is registered once (a
run of ``register_sources``), then each of its shards is run once (``ingest_and_embed_shard``).

The sensor reads no manifest itself beyond its hash: registering a list of 100M rows is a
step of its own, with its own logs and retries, not work inside a sensor tick. A file is
registered only once its upload has finished: a temporary name (``.x.csv``, ``x.csv.part``,
``x.csv.tmp``, ``x.csv~``, ...) is not a manifest yet, and a file whose size or modification
time changed since the last tick is still being written, so it waits for the next one. Each
file is taken on its own: one that cannot be read is skipped with its reason and the others
go on.
"""

from __future__ import annotations

import json
import posixpath
import re

import dagster as dg

from acav_assets.core.media.sources import dropped_manifests, manifest_digest, shard_prefix
from acav_assets.core.redaction import redact
from acav_assets.defs.media.assets import SourcesConfig, sources
from acav_assets.defs.media.jobs import register_job, shard_job
from acav_assets.defs.partitions import shard_partitions
from acav_assets.defs.resources import AcavHome

# Names uploaders and editors give a file before it is complete.
TEMPORARY_NAME = re.compile(
    r"^\.|~$|\.(part|partial|tmp|temp|crdownload|download|filepart|swp|uploading)$|_COPYING_$",
    re.IGNORECASE,
)


def _register(uri: str, digest: str) -> dg.RunRequest:
    return dg.RunRequest(
        job_name=register_job.name,
        run_key=f"register:{uri}:{digest}",
        run_config=dg.RunConfig(ops={sources.op.name: SourcesConfig(manifests=[uri])}),
    )


def _stamp(root, uri: str) -> str:
    """Size and modification time (or an object store's ETag): what changes while a file is
    being written."""
    info = root.fs.info(uri)
    changed = info.get("mtime") or info.get("LastModified") or info.get("ETag") or ""
    return f"{info.get('size')}:{changed}"


@dg.sensor(jobs=[register_job, shard_job], minimum_interval_seconds=30)
def new_manifest_sensor(context: dg.SensorEvaluationContext, acav: AcavHome):
    """Registers each new or changed manifest in ``<root>/sources`` once it has stopped
    changing, then requests one run per shard once its registration has added the
    partitions. A malformed manifest fails its own registration run, with its reason, and
    holds back no other."""
    root = acav.storage()
    # uri -> {"stamp": size:mtime, "stable": bool, "digest": sha256, "shards_requested": bool}
    seen: dict[str, dict] = json.loads(context.cursor or "{}")
    requests: list[dg.RunRequest] = []
    waiting = []
    for uri in dropped_manifests(root):
        if TEMPORARY_NAME.search(posixpath.basename(uri)):
            continue
        state = seen.setdefault(uri, {})
        try:
            stamp = _stamp(root, uri)
            if state.get("stamp") != stamp:
                state.update(stamp=stamp, stable=False)
                waiting.append(uri)
                continue
            if state.get("stable"):
                continue
            digest = manifest_digest(root, uri)
        except OSError as error:  # gone, or unreadable: this file only
            context.log.warning(f"skipping {redact(uri)}: {type(error).__name__}: {error}")
            seen.pop(uri, None)
            continue
        state["stable"] = True
        if state.get("digest") != digest:
            state.update(digest=digest, shards_requested=False)
            requests.append(_register(uri, digest))
    registered = {uri: s for uri, s in seen.items() if s.get("digest")}
    unrequested = {uri: s for uri, s in registered.items() if not s["shards_requested"]}
    if unrequested:
        partitions = context.instance.get_dynamic_partitions(shard_partitions.name)
        for uri, state in unrequested.items():
            prefix = shard_prefix(uri, state["digest"]) + "-"
            keys = [k for k in partitions if k.startswith(prefix)]
            if keys:
                state["shards_requested"] = True
                requests += [
                    dg.RunRequest(job_name=shard_job.name, partition_key=k, run_key=f"shard:{k}")
                    for k in keys
                ]
    cursor = json.dumps(seen, sort_keys=True)
    if not requests:
        reason = (
            f"waiting for {len(waiting)} manifests to stop changing"
            if waiting
            else "no new manifest in sources/ and no newly registered shard"
        )
        return dg.SensorResult(skip_reason=reason, cursor=cursor)
    return dg.SensorResult(run_requests=requests, cursor=cursor)
