"""The code location loads, and its graph is what review expects."""

from __future__ import annotations

import dagster as dg

from acav_assets.definitions import defs


def test_definitions_resolve_and_list_the_sql_models_with_their_checks() -> None:
    graph = defs.resolve_asset_graph()
    keys = sorted(k.to_user_string() for k in graph.get_all_asset_keys())
    for model in ("lineage", "quality", "stg_clips", "stg_videos"):
        assert model in keys
    checks = sorted(f"{k.asset_key.to_user_string()}:{k.name}" for k in graph.asset_check_keys)
    assert "lineage:unique_export_key" in checks
    assert "stg_videos:accepted_values_status" in checks
    lineage_deps = graph.get(dg.AssetKey("lineage")).parent_keys
    assert {k.to_user_string() for k in lineage_deps} >= {"stg_clips", "stg_exports"}
