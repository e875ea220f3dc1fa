"""``publish_schedule``: publishing waits for a shard selection or a merge group newer than
the last export, and for the merge runs in flight."""

from __future__ import annotations

import dagster as dg
from dagster._core.utils import make_new_run_id

from acav_assets.defs.export.schedules import publish_schedule
from acav_assets.defs.selection.jobs import merge_group_job


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
        instance.report_runless_asset_event(dg.AssetMaterialization("group_selection"))
        second = evaluate()
        assert isinstance(second, dg.RunRequest) and second.run_key != first.run_key


def test_publish_schedule_waits_for_merge_runs_in_flight() -> None:
    with dg.instance_for_test() as instance:
        instance.report_runless_asset_event(dg.AssetMaterialization("shard_selection"))
        for status in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.STARTED):
            instance.add_run(
                dg.DagsterRun(
                    job_name=merge_group_job.name, run_id=make_new_run_id(), status=status
                )
            )
        skipped = publish_schedule(dg.build_schedule_context(instance=instance))
        assert isinstance(skipped, dg.SkipReason)
        assert skipped.skip_message == "waiting for 1 merge runs of groups"
