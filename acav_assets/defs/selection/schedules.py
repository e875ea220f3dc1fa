"""``merge_schedule``: each merge group with a shard selection newer than its last merge is
merged again (one run a group, one pod each), at most once a quarter hour, so that shards
landing one after another cost one merge of their group rather than one each."""

from __future__ import annotations

import dagster as dg

from acav_assets.core.selection import SelectionOptions, group_key
from acav_assets.defs.partitions import merge_group_partitions
from acav_assets.defs.selection.jobs import merge_group_job

PAGE = 10_000  # materialization records read per request


def latest_storage_id(instance: dg.DagsterInstance, asset: str) -> int | None:
    records = instance.fetch_materializations(dg.AssetKey(asset), limit=1).records
    return records[0].storage_id if records else None


def newest_by_partition(instance: dg.DagsterInstance, asset: str, after: int) -> dict[str, int]:
    """Partition -> storage id of its newest materialization of ``asset`` after ``after``:
    O(materializations since then), never a scan of every partition."""
    newest: dict[str, int] = {}
    cursor = None
    while True:
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), after_storage_id=after),
            limit=PAGE,
            cursor=cursor,
        )
        for record in page.records:
            if record.partition_key is not None:
                key = record.partition_key
                newest[key] = max(newest.get(key, 0), record.storage_id)
        if not page.has_more:
            return newest
        cursor = page.cursor


@dg.schedule(job=merge_group_job, cron_schedule="*/15 * * * *")
def merge_schedule(context: dg.ScheduleEvaluationContext):
    """Requests a run of ``merge_group_winners`` for each group (of the default
    ``merge_group_shards``) with a shard selection newer than the curated set and than the
    group's own last merge; adds the groups' partitions first."""
    instance = context.instance
    since = latest_storage_id(instance, "curated_subset") or 0
    selected = newest_by_partition(instance, "shard_selection", since)
    if not selected:
        return dg.SkipReason("no shard selection since the curated set was last extended")
    size = SelectionOptions.merge_group_shards
    newest: dict[str, int] = {}
    for shard, storage_id in selected.items():
        group = group_key(shard, size)
        newest[group] = max(newest.get(group, 0), storage_id)
    merged = newest_by_partition(instance, "group_selection", since)
    stale = sorted(g for g, storage_id in newest.items() if merged.get(g, 0) < storage_id)
    if not stale:
        return dg.SkipReason("every merge group is newer than its shard selections")
    known = set(instance.get_dynamic_partitions(merge_group_partitions.name))
    added = [g for g in stale if g not in known]
    if added:
        instance.add_dynamic_partitions(merge_group_partitions.name, added)
    return [dg.RunRequest(partition_key=g, run_key=f"merge:{g}:{newest[g]}") for g in stale]
