"""SQL models materialize as assets, and their declared tests become blocking checks."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import polars as pl

from acav_assets.core.catalog import TableStore
from acav_assets.core.storage import StorageRoot
from acav_assets.defs.catalog.sql_models import build_sql_model_defs
from acav_assets.defs.resources import AcavHome


def _videos(statuses: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"video_id": [f"v{i}" for i in range(len(statuses))], "status": statuses})


def _materialize(models: Path, home: AcavHome) -> dg.ExecuteInProcessResult:
    assets = build_sql_model_defs(models).assets
    return dg.materialize(assets, resources={"acav": home}, raise_on_error=False)


def _write_models(folder: Path) -> Path:
    folder.mkdir()
    (folder / "stg_videos.sql").write_text(
        "-- tests:\n"
        "--   - unique: video_id\n"
        "--   - accepted_values: {column: status, values: [ok, failed]}\n"
        "select * from {{ source('videos') }}\n"
    )
    (folder / "video_counts.sql").write_text(
        "-- materialized: table\n"
        "select status, count(*) as n from {{ ref('stg_videos') }} group by all\n"
    )
    return folder


def test_model_checks_pass_on_good_data(tmp_path: Path) -> None:
    home = AcavHome(root=str(tmp_path / "home"))
    TableStore(StorageRoot(home.root)).write("videos", "s1", _videos(["ok", "failed"]))
    result = _materialize(_write_models(tmp_path / "models"), home)
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert {c.check_name for c in checks} == {"unique_video_id", "accepted_values_status"}
    assert all(c.passed for c in checks)
    counts = home.catalog().query("select status, n from video_counts order by status")
    assert counts.rows() == [("failed", 1), ("ok", 1)]


def test_a_failing_model_test_blocks_the_models_downstream(tmp_path: Path) -> None:
    home = AcavHome(root=str(tmp_path / "home"))
    TableStore(StorageRoot(home.root)).write("videos", "s1", _videos(["ok", "exploded"]))
    result = _materialize(_write_models(tmp_path / "models"), home)
    failed = [c for c in result.get_asset_check_evaluations() if not c.passed]
    assert [c.check_name for c in failed] == ["accepted_values_status"]
    assert failed[0].metadata["failing_rows"].value == 1
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"stg_videos"}
