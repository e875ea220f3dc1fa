"""The whole asset graph on a small generated corpus: every asset materializes, every check
passes, and the export holds the target rows."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import polars as pl

from acav_assets.core.clustering import ClusteringOptions
from acav_assets.core.evaluation import CorpusInfo
from acav_assets.core.media import IngestOptions, load_manifest
from acav_assets.core.media.sources import shard_prefix
from acav_assets.core.selection import SelectionOptions
from acav_assets.definitions import defs
from acav_assets.defs.local import Curation, LocalRunner, curate_sources, local_instance, summarize
from acav_assets.defs.resources import AcavHome


def test_every_asset_materializes_and_every_check_passes(
    tmp_path: Path, small_corpus: CorpusInfo
) -> None:
    acav = AcavHome(root=str(tmp_path / "home"), media_roots=str(small_corpus.root))
    manifest = load_manifest(small_corpus.manifest_path)
    curation = Curation(
        sources=(str(small_corpus.manifest_path),),
        ingest=IngestOptions(allowed_roots=(str(small_corpus.root),)),
        # About 20 clips in 4 clusters: half of them in one cluster is sampling noise here,
        # not the dead input the 0.5 default guards against on real shards.
        clustering=ClusteringOptions(k="4", max_cluster_share=0.75),
        selection=SelectionOptions(size=8),
        report_to=str(tmp_path / "out" / "report.html"),
    )
    instance = local_instance(acav)
    runner = LocalRunner(defs, acav, instance)
    shards = curate_sources(runner, curation, [shard_prefix(manifest.source, manifest.sha256)])
    summary = summarize(runner, curation, shards, str(tmp_path / "out"))
    assert summary["videos"] == 12 and summary["videos_ok"] == 12
    assert summary["clips"] >= 12 and summary["selected"] == 8

    graph = defs.resolve_asset_graph()
    partitioned = {k for k in graph.get_all_asset_keys() if graph.get(k).partitions_def}
    # One shard is one merge group, which the final merge takes directly (no group step).
    for key in graph.get_all_asset_keys() - {
        dg.AssetKey("evaluation"),
        dg.AssetKey("group_selection"),
    }:
        event = instance.get_latest_materialization_event(key)
        assert event is not None, f"{key.to_user_string()} was not materialized"
        if key in partitioned:
            assert event.dagster_event.partition == summary["shards"][0]
    storage = instance.event_log_storage
    for check_key in graph.asset_check_keys:
        if check_key.asset_key == dg.AssetKey("evaluation"):
            continue
        (record,) = storage.get_asset_check_execution_history(check_key, limit=1)
        evaluation = record.event.dagster_event.event_specific_data
        assert evaluation.passed, f"check {check_key.name} on {check_key.asset_key} failed"

    export = pl.read_csv(tmp_path / "out" / "subset.csv")
    assert export.height == 8
    assert export.columns == ["rank", "clip_id", "video_id", "url", "start_s", "end_s"]
    assert export["rank"].to_list() == list(range(8))
    assert (export["end_s"] - export["start_s"]).round(3).unique().to_list() == [10.0]
    assert (tmp_path / "out" / "report.html").stat().st_size > 10_000
    lineage = acav.catalog().query("select * from lineage order by rank")
    assert lineage.height == 8 and lineage["source"].null_count() == 0
    assert dg.AssetKey("curation_report") in graph.get_all_asset_keys()


def test_the_local_instance_reads_the_instance_file_that_make_dev_installs(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    folder = tmp_path / "home" / "dagster"
    folder.mkdir(parents=True)
    repo = Path(__file__).resolve().parents[2]
    (folder / "dagster.yaml").write_text((repo / "deployments" / "dagster.yaml").read_text())
    instance = local_instance(AcavHome(root=str(tmp_path / "home")))
    assert Path(instance.root_directory) == folder
    assert "DAGSTER_HOME" not in os.environ


def test_ingest_takes_the_cluster_cookies_only_when_their_optional_secret_is_mounted(
    tmp_path: Path,
):
    from acav_assets.defs.media.assets import IngestConfig, checked_ingest_options

    absent = AcavHome(root=str(tmp_path), ytdlp_cookies=str(tmp_path / "absent" / "c.txt"))
    assert checked_ingest_options(IngestConfig(), absent).download.cookies_file is None
    mounted = tmp_path / "cookies.txt"
    mounted.write_text("# Netscape HTTP Cookie File\n")
    present = AcavHome(root=str(tmp_path), ytdlp_cookies=str(mounted))
    assert checked_ingest_options(IngestConfig(), present).download.cookies_file == str(mounted)
