"""``publish_schedule``: re-publish when a shard selection landed after the last export."""

from __future__ import annotations

import dagster as dg

from acav_assets.defs.export.jobs import publish_job


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
