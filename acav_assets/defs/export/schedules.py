"""``publish_schedule``: extend and re-publish the curated set when a shard selection or a
merge group landed after the last export, once no merge run is in flight."""

from __future__ import annotations

import dagster as dg

from acav_assets.defs.export.jobs import publish_job
from acav_assets.defs.selection.jobs import merge_group_job
from acav_assets.defs.selection.schedules import latest_storage_id

IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


# Seven minutes after merge_schedule's ticks, so that the merges it asked for run first.
@dg.schedule(job=publish_job, cron_schedule="7-59/15 * * * *")
def publish_schedule(context: dg.ScheduleEvaluationContext):
    """Re-runs the merge, export and report when a shard selection or a merge group landed
    after the last export and no merge of a group is queued or running."""
    instance = context.instance
    landed = [latest_storage_id(instance, a) for a in ("shard_selection", "group_selection")]
    selected = max((s for s in landed if s is not None), default=None)
    if selected is None:
        return dg.SkipReason("no shard selection yet")
    exported = latest_storage_id(instance, "curated_export")
    if exported is not None and exported > selected:
        return dg.SkipReason("no new shard selection since the last export")
    merging = instance.get_runs_count(
        dg.RunsFilter(job_name=merge_group_job.name, statuses=IN_FLIGHT)
    )
    if merging:
        return dg.SkipReason(f"waiting for {merging} merge runs of groups")
    return dg.RunRequest(run_key=f"publish:{selected}")
