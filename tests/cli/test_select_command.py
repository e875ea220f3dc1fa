"""``acav select``: Parquet of assignments in, ranked clip ids out, one JSON line last."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from acav_assets.cli import app
from acav_assets.core.selection import objective


@pytest.fixture
def assignments(tmp_path):
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 6, size=200)
    frame = {"clip_id": [f"clip{i:03d}" for i in range(200)]}
    for name in ["audio_0", "audio_1", "visual_0", "visual_1"]:
        frame[name] = (truth + rng.integers(0, 2, size=200)) % 6
    path = tmp_path / "assignments.parquet"
    pl.DataFrame(frame).write_parquet(path)
    return path


def test_select_writes_ranked_clips_and_a_json_summary(assignments, tmp_path):
    out = tmp_path / "out" / "selected.parquet"
    result = CliRunner().invoke(
        app, ["select", "--assignments", str(assignments), "--out", str(out), "--ratio", "0.25"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    selected = pl.read_parquet(out)
    assert selected.columns == ["clip_id", "rank", "contribution"] and selected.height == 50
    assert selected["rank"].to_list() == list(range(50))
    assert summary["candidates"] == 200 and summary["selected"] == 50 and summary["pairs"] == 4
    frame = pl.read_parquet(assignments)
    rows = [int(c[4:]) for c in selected["clip_id"]]
    labels = frame.drop("clip_id").to_numpy()[rows]
    assert summary["objective"] == pytest.approx(
        objective(labels, ["audio_0", "audio_1", "visual_0", "visual_1"]), abs=1e-9
    )


def test_select_rejects_unknown_pairing_and_leaves_no_file(assignments, tmp_path):
    out = tmp_path / "selected.parquet"
    result = CliRunner().invoke(
        app,
        ["select", "--assignments", str(assignments), "--out", str(out), "--size", "10",
         "--pairing", "zigzag"],
    )  # fmt: skip
    assert result.exit_code == 2 and "unknown pairing" in result.output
    assert list(tmp_path.iterdir()) == [assignments]


def test_select_rejects_column_that_is_not_a_clustering(tmp_path):
    path = tmp_path / "a.parquet"
    pl.DataFrame({"clip_id": ["a", "b"], "audio_0": [0, 1], "score": [1, 2]}).write_parquet(path)
    result = CliRunner().invoke(
        app, ["select", "--assignments", str(path), "--out", str(tmp_path / "o.parquet"),
              "--size", "1"],
    )  # fmt: skip
    assert result.exit_code == 2 and "'score'" in result.output


def test_select_with_size_auto_reports_the_estimate_it_selected_to(assignments, tmp_path):
    out = tmp_path / "selected.parquet"
    result = CliRunner().invoke(
        app, ["select", "--assignments", str(assignments), "--out", str(out), "--size", "auto"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    auto = summary["auto_size"]
    assert summary["selected"] == auto["estimated_size"] == pl.read_parquet(out).height
    assert auto["share_low"] <= auto["estimated_share"] <= auto["share_high"]
    assert auto["estimated_size"] == round(auto["estimated_share"] * 200)


@pytest.mark.parametrize("size", ["many", "0", "-3"])
def test_select_refuses_a_size_that_is_neither_a_number_nor_auto(assignments, tmp_path, size):
    out = tmp_path / "selected.parquet"
    result = CliRunner().invoke(
        app, ["select", "--assignments", str(assignments), "--out", str(out), "--size", size]
    )
    assert result.exit_code == 2 and "auto" in result.output and not out.exists()
