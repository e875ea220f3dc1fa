"""The pipeline commands as a user runs them: exit codes, the JSON summary, the files."""

from __future__ import annotations

import json
from pathlib import Path

from cli_runner import WIDE_RUNNER

from acav_assets.cli import app
from acav_assets.core.evaluation import generate_corpus


def test_evaluate_scores_acav_well_above_random_and_reports_each_baseline(
    tmp_path: Path,
) -> None:
    corpus = tmp_path / "corpus"
    generate_corpus(
        corpus, n_videos=40, n_classes=10, min_seconds=31, max_seconds=34,
        width=160, height=96, fps=8, seed=5,
    )  # fmt: skip
    out = tmp_path / "evaluation"
    result = WIDE_RUNNER.invoke(
        app,
        ["evaluate", "--corpus", str(corpus), "--out", str(out), "--seeds", "5",
         "--clip-strategy", "uniform", "--home", str(tmp_path / "home")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    precision = summary["precision"]
    assert set(precision) == {"acav", "random", "cca_ranking", "contrastive"}
    # Three uniform clips a video, half of the videos swapped: the base rate is exactly 0.5.
    # All ten sound families, so that no clustering needs half of the clips in one cluster
    # (with six, two deep SoundNet layers lumped four families together).
    assert summary["candidates"] == 120 and summary["true_set_size"] == 60
    assert precision["acav"] >= 0.7
    assert precision["acav"] >= precision["random"] + 0.2
    assert summary["selected"] == summary["true_set_size"]
    report = (out / "report.html").read_text()
    for method in ("random", "cca_ranking", "contrastive"):
        assert f"over {method}" in report
    assert json.loads((out / "evaluation.json").read_text())["methods"]["acav"]["n_seeds"] == 5
    auto = summary["auto_size"]
    assert summary["true_share"] == 0.5 and abs(auto["estimated_share"] - 0.5) <= 0.2
    assert auto["share_range"][0] <= auto["estimated_share"] <= auto["share_range"][1]
    assert "auto size (not told the true size)" in result.output
    assert 'id="auto-size"' in report and "precision at auto size" in report
    # 4 videos a class, 2 of them true: the sample may hide a class's true sound, and the
    # ceiling says how much; acav does not pass it by more than keeping part of a wrong cell
    assert 0.5 <= summary["ceiling"] <= 1.0 and precision["acav"] <= summary["ceiling"] + 0.1
    assert f"what the sample allows (classes known, pairing not): {summary['ceiling']:.3f}" in (
        result.output
    )
    assert f"What this sample allows: <b>{summary['ceiling']:.3f}</b>" in report


def test_curate_on_a_folder_of_eight_videos_publishes_instead_of_stopping(tmp_path: Path) -> None:
    corpus = tmp_path / "folder"
    generate_corpus(
        corpus, n_videos=8, n_classes=4, min_seconds=31, max_seconds=33,
        width=160, height=96, fps=8, seed=2,
    )  # fmt: skip
    (corpus / "manifest.csv").unlink()
    (corpus / "truth.csv").unlink()
    out = tmp_path / "out"
    result = WIDE_RUNNER.invoke(
        app,
        ["curate", str(corpus / "videos"), "--out", str(out), "--ratio", "0.5",
         "--home", str(tmp_path / "home")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["videos_ok"] == 8 and summary["selected"] == round(summary["clips"] / 2)
    assert (out / "subset.csv").is_file()


def test_curate_rejects_a_malformed_manifest_and_writes_nothing(tmp_path: Path) -> None:
    manifest = tmp_path / "bad.jsonl"
    manifest.write_text('{"path": "a.mp4"}\n{broken\n')
    home, out = tmp_path / "home", tmp_path / "out"
    args = ["curate", str(manifest), "--out", str(out), "--home", str(home)]
    result = WIDE_RUNNER.invoke(app, args)
    assert result.exit_code == 2
    assert "line 2" in result.output
    assert not out.exists() and not (home / "tables").exists()


def test_curate_rejects_size_and_ratio_together(tmp_path: Path) -> None:
    result = WIDE_RUNNER.invoke(
        app, ["curate", str(tmp_path), "--out", str(tmp_path / "o"), "--size", "3",
              "--ratio", "0.5"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "not both" in result.output


def test_curate_refuses_an_unknown_search_option_before_any_work(tmp_path: Path) -> None:
    result = WIDE_RUNNER.invoke(
        app, ["curate", str(tmp_path), "--out", str(tmp_path / "o"), "--strategy", "sideways",
              "--home", str(tmp_path / "home")],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "sideways" in result.output
    assert not (tmp_path / "home").exists()
