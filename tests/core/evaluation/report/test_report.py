"""The report renders offline, loads in headless Chromium without errors and shows its plots."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from acav_assets.core.evaluation.corpus import generate_corpus, load_truth
from acav_assets.core.evaluation.report.html import (
    MethodScore,
    PrecisionCurve,
    ReportData,
    render_report,
    report_html,
)
from acav_assets.core.evaluation.report.previews import ClipPreview, extract_preview
from acav_assets.core.evaluation.report.svg import Series, line_chart

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    binary = shutil.which("chromium")
    if binary is None:
        raise RuntimeError("chromium is missing: `apt-get install -y chromium` (make setup)")
    profile = tmp_path / "profile"
    return subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def page_errors(stderr: str) -> list[str]:
    """Console errors and uncaught exceptions Chromium logged for the page."""
    return [
        line
        for line in stderr.splitlines()
        if "CONSOLE" in line
        and ("ERROR" in line or "Uncaught" in line)
        or "Failed to load resource" in line
    ]


@pytest.fixture(scope="module")
def previews(tmp_path_factory) -> list[ClipPreview]:
    info = generate_corpus(
        tmp_path_factory.mktemp("c"),
        n_videos=2,
        n_classes=2,
        seed=0,
        min_seconds=3,
        max_seconds=4,
        width=96,
        height=64,
        fps=5,
    )
    truth = load_truth(info.root)
    return [
        extract_preview(
            row["path"],
            0.5,
            2.5,
            label=row["video_id"],
            caption=f"{row['visual_family']} / {row['sound_family']}",
        )
        for row in truth.iter_rows(named=True)
    ]


def sample_data(previews: list[ClipPreview]) -> ReportData:
    rng = np.random.default_rng(0)
    sizes = np.arange(1, 201)
    curves = [
        PrecisionCurve(
            name, sizes, np.clip(level + 0.1 * np.exp(-sizes / 50), 0, 1), np.full(sizes.size, 0.03)
        )
        for name, level in (("acav", 0.8), ("cca", 0.65), ("contrastive", 0.6), ("random", 0.5))
    ]
    return ReportData(
        summary={"clips": 400, "selected": 200, "corpus": "demo <seed 0>"},
        method_scores=[
            MethodScore("acav", 0.81, 0.04, 0.81, 0.81, 5),
            MethodScore("cca", 0.66, 0.03, 0.66, 0.66, 5),
            MethodScore("random", 0.5, 0.02, 0.5, 0.5, 5),
        ],
        precision_curves=curves,
        true_set_size=200,
        objective_trace=np.log1p(np.arange(200)) / 3,
        contingency=rng.integers(0, 20, size=(16, 16)),
        cluster_sizes={
            "audio/conv7": rng.integers(1, 40, 16),
            "visual/f18": rng.integers(1, 40, 16),
        },
        failures=[("videos", "too_short", 3), ("embeddings", "silent_audio", 1)],
        stage_seconds={"generate": 60.0, "ingest": 12.5, "embed": 140.2, "select": 3.1},
        top_clips=previews,
        bottom_clips=previews[:1],
        contributions_kept=rng.normal(1.0, 0.5, 200),
        contributions_dropped=rng.normal(-0.5, 0.5, 200),
        auto_size={"estimated_share": 0.52, "share_low": 0.49, "share_high": 0.55,
                   "estimated_size": 208, "candidates": 400},
        evaluated_auto_size={
            "estimated_share": {"mean": 0.515, "std": 0.02, "n": 5}, "estimated_size": 206,
            "share_low": 0.48, "share_high": 0.56, "precision": {"mean": 0.79},
        },
        ceiling=0.93,
    )  # fmt: skip


def test_report_loads_in_headless_chromium_without_errors_and_shows_its_plots(tmp_path, previews):
    path = render_report(sample_data(previews), tmp_path / "out" / "report.html")
    assert Path(path).is_file() and not list(Path(path).parent.glob(".*.part"))
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "evaluation_report.png"
    shot.unlink(missing_ok=True)
    dom = chromium(tmp_path, "--dump-dom", Path(path).as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert page_errors(dom.stderr) == []
    # curves, objective, heatmap, 2 clusterings, stages, contributions
    assert dom.stdout.count("<svg") == 7
    assert len(re.findall(r'<polyline class="series"', dom.stdout)) == 7
    auto = re.search(r'<section id="auto-size">(.*?)</section>', dom.stdout).group(1)
    assert "0.520 (0.490-0.550)" in auto and "0.515 +- 0.020" in auto
    assert '<td class="num">200</td>' in auto and "0.790" in auto  # true size, precision
    assert "kept (200)" in dom.stdout and "dropped (200)" in dom.stdout
    assert re.search(r'<p id="ceiling">What this sample allows: <b>0.930</b>', dom.stdout)
    assert dom.stdout.count("<audio") == 3 and dom.stdout.count("data:image/jpeg;base64,") == 3
    assert "+0.150 over cca" in dom.stdout and "+0.310 over random" in dom.stdout
    assert "http://" not in dom.stdout.replace('xmlns="http://www.w3.org/2000/svg"', "")
    shot_run = chromium(
        tmp_path, f"--screenshot={shot}", "--window-size=1360,3400", Path(path).as_uri()
    )
    assert shot_run.returncode == 0, shot_run.stderr[-2000:]
    assert shot.stat().st_size > 20_000


def test_console_error_check_catches_a_broken_page(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text("<html><body><script>undefined_function();</script></body></html>")
    run = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert any("undefined_function" in line for line in page_errors(run.stderr))


def test_report_without_truth_says_so_instead_of_plotting():
    html = report_html(ReportData(summary={"clips": 10}))
    assert "No ground truth" in html and "<svg" not in html
    assert "No failures recorded" in html


def test_report_escapes_text_from_the_data():
    html = report_html(ReportData(summary={"<script>": "x"}, failures=[("a", "<b>", 1)]))
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_line_chart_maps_values_inside_its_axes():
    svg = line_chart(
        [Series("a", np.array([0, 10]), np.array([0.0, 1.0]))],
        title="t",
        xlabel="x",
        ylabel="y",
        ylim=(0.0, 1.0),
    )
    points = re.search(r'points="([^"]+)"', svg).group(1).split()
    (x0, y0), (x1, y1) = (tuple(map(float, p.split(","))) for p in points)
    assert x0 < x1 and y0 > y1  # y grows upwards on screen
    with pytest.raises(ValueError, match="no data"):
        line_chart([], title="empty", xlabel="x", ylabel="y")


def test_preview_of_an_unreadable_file_has_no_media_but_does_not_raise(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    preview = extract_preview(bad, 0.0, 2.0, label="bad")
    assert preview.image_jpeg is None and preview.audio is None
    with pytest.raises(ValueError, match="start_s=3"):
        extract_preview(bad, 3.0, 2.0, label="bad")
