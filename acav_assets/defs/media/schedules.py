"""``retry_deferred_schedule``: ask again, once its sites had time to cool down, for the
videos a shard's ingest left deferred, rate-limited or bot-checked."""

from __future__ import annotations

import dagster as dg

from acav_assets.defs.media.jobs import shard_job

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
