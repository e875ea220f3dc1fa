"""``merge_schedule``: a merge group is merged again only when one of its shards was selected
after the group's last merge and after the curated set was last extended."""

from __future__ import annotations

import dagster as dg

from acav_assets.defs.partitions import merge_group_partitions
from acav_assets.defs.selection.schedules import merge_schedule


def _materialize(instance: dg.DagsterInstance, asset: str, partition: str | None = None) -> None:
    instance.report_runless_asset_event(dg.AssetMaterialization(asset, partition=partition))


def test_merge_schedule_asks_once_for_each_group_with_newer_selections() -> None:
    with dg.instance_for_test() as instance:

        def evaluate():
            return merge_schedule(dg.build_schedule_context(instance=instance))

        assert isinstance(evaluate(), dg.SkipReason)
        for shard in ("a-0123-00000", "a-0123-00001", "a-0123-00100", "s1"):
            _materialize(instance, "shard_selection", shard)
        requests = evaluate()
        assert [r.partition_key for r in requests] == ["a-0123-g00000", "a-0123-g00001", "s1-g"]
        assert set(instance.get_dynamic_partitions(merge_group_partitions.name)) == {
            "a-0123-g00000", "a-0123-g00001", "s1-g"
        }  # fmt: skip
        assert [r.run_key for r in evaluate()] == [r.run_key for r in requests]
        _materialize(instance, "group_selection", "a-0123-g00000")
        assert [r.partition_key for r in evaluate()] == ["a-0123-g00001", "s1-g"]
        _materialize(instance, "curated_subset")
        assert isinstance(evaluate(), dg.SkipReason)
        _materialize(instance, "shard_selection", "a-0123-00002")
        (again,) = evaluate()
        assert again.partition_key == "a-0123-g00000"
