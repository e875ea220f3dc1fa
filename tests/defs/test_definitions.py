"""The code location loads, its graph is what review expects, and each asset asks for the
pod it needs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import dagster as dg

from acav_assets.definitions import defs
from acav_assets.defs.execution import GPU_RESOURCE, K8S_CONFIG_TAG

REPO = Path(__file__).resolve().parents[2]
PIPELINE_ASSETS = [
    "audio_embeddings", "clips", "cluster_assignments", "clusterings", "curated_export",
    "curated_subset", "curation_report", "evaluation", "group_selection", "shard_selection",
    "sources", "videos", "visual_embeddings",
]  # fmt: skip
JOBS = ["assign_and_select_shard", "evaluate_corpus", "ingest_and_embed_shard",
        "merge_group_winners", "publish_curated_set", "register_sources",
        "train_clusterings"]  # fmt: skip
SQL_MODELS = ["lineage", "quality", "stg_clips", "stg_embeddings", "stg_exports", "stg_sources",
              "stg_videos"]  # fmt: skip
PIPELINE_CHECKS = [
    "audio_embeddings:embeddings_are_finite_and_varied",
    "clusterings:no_dominant_cluster",
    "curated_export:row_count_matches_target",
    "curated_subset:selection_beats_random",
    "shard_selection:selection_beats_random",
    "videos:failed_share_below_limit",
    "visual_embeddings:embeddings_are_finite_and_varied",
]


def test_the_graph_holds_the_pipeline_assets_the_sql_models_and_their_checks() -> None:
    graph = defs.resolve_asset_graph()
    keys = sorted(k.to_user_string() for k in graph.get_all_asset_keys())
    assert keys == sorted(PIPELINE_ASSETS + SQL_MODELS)
    checks = sorted(f"{k.asset_key.to_user_string()}:{k.name}" for k in graph.asset_check_keys)
    assert [c for c in checks if c.split(":")[0] in PIPELINE_ASSETS] == PIPELINE_CHECKS
    assert "lineage:unique_export_key" in checks
    assert "stg_videos:accepted_values_status" in checks
    lineage_deps = {k.to_user_string() for k in graph.get(dg.AssetKey("lineage")).parent_keys}
    assert lineage_deps >= {"stg_clips", "stg_exports", "stg_videos", "stg_sources"}
    partitioned = sorted(
        k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).partitions_def
    )
    assert partitioned == ["audio_embeddings", "clips", "cluster_assignments", "group_selection",
                           "shard_selection", "videos", "visual_embeddings"]  # fmt: skip
    assert sorted(job.name for job in defs.jobs) == JOBS
    assert sorted(s.name for s in defs.sensors) == ["curation_sensor", "new_manifest_sensor"]
    assert sorted(s.name for s in defs.schedules) == [
        "merge_schedule",
        "publish_schedule",
        "retry_deferred_schedule",
    ]
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert groups == {"media", "features", "clustering", "selection", "export", "evaluation",
                      "catalog"}  # fmt: skip


def _k8s_config(key: dg.AssetKey) -> dict:
    """The pod config an asset's step asks for (Dagster stores tag values as JSON)."""
    value = defs.get_assets_def(key).op.tags[K8S_CONFIG_TAG]
    return json.loads(value) if isinstance(value, str) else value


def test_every_asset_asks_for_its_pod_and_only_the_embeddings_for_a_gpu() -> None:
    graph = defs.resolve_asset_graph()
    gpu = set()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not node.is_executable:
            continue
        config = _k8s_config(key)
        limits = config["container_config"]["resources"]["limits"]
        if GPU_RESOURCE in limits:
            gpu.add(key.to_user_string())
    assert gpu == {"audio_embeddings", "visual_embeddings"}
    ingest = _k8s_config(dg.AssetKey("videos"))["container_config"]["resources"]["requests"]
    assert set(ingest) == {"cpu", "memory", "ephemeral-storage"}


def test_dg_checks_the_definitions_of_the_checkout() -> None:
    dg_cli = Path(sys.executable).parent / "dg"
    result = subprocess.run(
        [dg_cli, "check", "defs"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "All definitions loaded successfully" in result.stdout + result.stderr


def test_dagster_validates_the_workspace() -> None:
    dagster = Path(sys.executable).parent / "dagster"
    result = subprocess.run(
        [dagster, "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "All code locations passed validation" in result.stderr + result.stdout
