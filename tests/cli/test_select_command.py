"""``acav select``: Parquet of assignments in, ranked clip ids out, one JSON line last."""

from __future__ import annotations

import json
import re

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
    assert result.exit_code == 2 and "'zigzag' is not one of" in result.output
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


def _plain(output: str) -> str:
    """The CLI's message without rich's box and line breaks."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", output).split())


def _select(tmp_path, frame_or_bytes, *extra: str):
    path = tmp_path / "in.parquet"
    if isinstance(frame_or_bytes, bytes):
        path.write_bytes(frame_or_bytes)
    else:
        frame_or_bytes.write_parquet(path)
    out = tmp_path / "out.parquet"
    result = CliRunner().invoke(
        app, ["select", "--assignments", str(path), "--out", str(out), *extra]
    )
    return result, out


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        (b"clip_id,audio_0\na,1\n", "is not a readable Parquet file"),
        (pl.DataFrame({"clip_id": ["a", "b", "a"], "audio_0": [0, 1, 0], "visual_0": [1, 0, 1]}),
         "appear more than once: ['a']"),
        (pl.DataFrame({"clip_id": ["a", None], "audio_0": [0, 1], "visual_0": [1, 0]}),
         "clip_id is missing in row 1"),
        (pl.DataFrame({"clip_id": ["a", "b"], "audio_0": [0, None], "visual_0": [1, 0]}),
         "'audio_0' has no label in row 1"),
        (pl.DataFrame({"clip_id": ["a", "b"], "audio_0": [0.5, 1.0], "visual_0": [1, 0]}),
         "is not an integer"),
        (pl.DataFrame({"clip_id": ["a", "b"], "audio_0": ["x", "y"], "visual_0": [1, 0]}),
         "not integer labels"),
        (pl.DataFrame({"clip_id": ["a", "b"]}), "no label columns"),
    ],
)  # fmt: skip
def test_select_names_what_is_wrong_with_its_input_and_writes_nothing(tmp_path, frame, problem):
    result, out = _select(tmp_path, frame, "--size", "1")
    assert result.exit_code == 2 and problem in _plain(result.output), result.output
    assert "Traceback" not in result.output and not out.exists()


def test_any_integer_labels_give_the_selection_of_their_dense_relabelling(tmp_path):
    rng = np.random.default_rng(1)
    dense = {name: rng.integers(0, 4, size=60) for name in ("audio_0", "visual_0")}
    ids = [f"c{i}" for i in range(60)]
    sparse = {
        "audio_0": dense["audio_0"] * 10**12 - 7,  # huge and negative cluster ids
        "visual_0": np.array([-(10**15), 3, 10**9, 42])[dense["visual_0"]],
    }
    chosen = []
    for labels, folder in ((dense, "dense"), (sparse, "sparse")):
        (tmp_path / folder).mkdir()
        result, out = _select(
            tmp_path / folder, pl.DataFrame({"clip_id": ids, **labels}), "--size", "20"
        )
        assert result.exit_code == 0, result.output
        chosen.append(pl.read_parquet(out)["clip_id"].to_list())
    assert chosen[0] == chosen[1]
