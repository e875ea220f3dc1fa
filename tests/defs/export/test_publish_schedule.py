"""``publish_schedule``: publishing waits for a shard selection newer than the last export."""

from __future__ import annotations

import dagster as dg

from acav_assets.defs.export.schedules import publish_schedule


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
        instance.report_runless_asset_event(dg.AssetMaterialization("shard_selection"))
        second = evaluate()
        assert isinstance(second, dg.RunRequest) and second.run_key != first.run_key
