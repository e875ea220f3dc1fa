"""The curation report: one self-contained HTML page a person reads in a browser.

It shows the summary, precision curves per method when the truth is known, the objective
during selection, the contingency table of the best audio-visual pair, cluster sizes,
failure reasons, time per stage, and the top and bottom clips with a frame and playable
sound. Charts are inline SVG (``svg.py``), media are base64 data URIs: the page needs no
network and no other file.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from acav_assets.core.evaluation.report.previews import ClipPreview
from acav_assets.core.evaluation.report.svg import PALETTE, Series, bar_chart, heatmap, line_chart


@dataclass(frozen=True)
class MethodScore:
    """Scores of one method over seeds at the size of the true set."""

    name: str
    precision_mean: float
    precision_std: float = 0.0
    recall_mean: float | None = None
    f1_mean: float | None = None
    n_seeds: int = 1


@dataclass(frozen=True)
class PrecisionCurve:
    """Precision of the first ``sizes`` clips of a method's order (mean and spread over
    seeds)."""

    name: str
    sizes: np.ndarray
    precision: np.ndarray
    spread: np.ndarray | None = None


@dataclass
class ReportData:
    """Everything the report shows; plain Python and numpy so any caller can fill it.
    Empty fields leave their section out (with a line that says so)."""

    title: str = "acav curation report"
    summary: Mapping[str, Any] = field(default_factory=dict)
    reference_method: str = "acav"
    method_scores: Sequence[MethodScore] = ()
    precision_curves: Sequence[PrecisionCurve] = ()
    true_set_size: int | None = None
    objective_trace: np.ndarray | None = None
    objective_label: str = "objective F(S), nats"
    objective_steps: str = "selected clips"  # what one step of the trace is
    contingency: np.ndarray | None = None
    contingency_pair: tuple[str, str] = ("audio clustering", "visual clustering")
    cluster_sizes: Mapping[str, np.ndarray] = field(default_factory=dict)
    failures: Sequence[tuple[str, str, int]] = ()
    stage_seconds: Mapping[str, float] = field(default_factory=dict)
    top_clips: Sequence[ClipPreview] = ()
    bottom_clips: Sequence[ClipPreview] = ()
    notes: Sequence[str] = ()
    contributions_kept: np.ndarray | None = None
    contributions_dropped: np.ndarray | None = None
    auto_size: Mapping[str, Any] | None = None  # the curation's own estimate (--size auto)
    evaluated_auto_size: Mapping[str, Any] | None = None  # the evaluation's, over seeds
    ceiling: float | None = None  # precision the sample allows (metrics.best_pairing_order)


_CSS = """
body{font-family:sans-serif;margin:24px auto;max-width:1320px;color:#222;padding:0 16px}
h1{font-size:24px} h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;
margin-top:32px} table{border-collapse:collapse;margin:8px 0} td,th{border:1px solid #ddd;
padding:4px 10px;text-align:left} th{background:#f4f4f4} .num{text-align:right}
.grid{display:flex;flex-wrap:wrap;gap:12px} .grid svg{max-width:100%;height:auto}
.clip{border:1px solid #ddd;padding:6px;width:250px;font-size:12px}
.clip img{display:block;width:240px} .clip audio{width:240px} .lead{font-size:16px}
.missing{color:#888;font-style:italic}
"""


def _table(header: Sequence[str] | None, rows: Sequence[Sequence[Any]]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f'<td class="num">{v:.4g}</td>'
        if isinstance(v, int):
            return f'<td class="num">{v}</td>'
        return f"<td>{escape(str(v))}</td>"

    head = "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr>" if header else ""
    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table>{head}{body}</table>"


def _missing(what: str) -> str:
    return f'<p class="missing">No {escape(what)} in this run.</p>'


def _headline(data: ReportData) -> str:
    """One sentence: the reference method's precision and its margin over every other."""
    scores = {m.name: m for m in data.method_scores}
    ref = scores.get(data.reference_method)
    if ref is None:
        return ""
    margins = [
        f"{ref.precision_mean - m.precision_mean:+.3f} over {escape(m.name)} "
        f"({m.precision_mean:.3f})"
        for m in data.method_scores
        if m.name != ref.name
    ]
    size = f" at the true-set size {data.true_set_size}" if data.true_set_size else ""
    text = (
        f"{escape(ref.name)} precision{size}: <b>{ref.precision_mean:.3f}</b> "
        f"&plusmn; {ref.precision_std:.3f} over {ref.n_seeds} seed(s)"
    )
    if margins:
        text += "; " + ", ".join(margins)
    return f'<p class="lead" id="headline">{text}.</p>'


def _scores_section(data: ReportData) -> str:
    if not data.method_scores:
        return _missing("ground truth (precision is computed only on a corpus with known truth)")
    rows = [
        [
            m.name,
            m.precision_mean,
            m.precision_std,
            "" if m.recall_mean is None else m.recall_mean,
            "" if m.f1_mean is None else m.f1_mean,
            m.n_seeds,
        ]
        for m in data.method_scores
    ]
    table = _table(["method", "precision", "spread (std)", "recall", "F1", "seeds"], rows)
    if data.ceiling is None:
        return table
    return table + (
        f'<p id="ceiling">What this sample allows: <b>{data.ceiling:.3f}</b>, the precision of '
        "an oracle that knows every clip's picture and sound class but not which pairing is "
        "true, and keeps the pairing of classes that holds the most clips. Where a wrong "
        "sound outnumbers the true one, every method that learns the pairing from the data "
        "is misled with it; a corpus with more videos a class lifts this figure.</p>"
    )


def _curves_section(data: ReportData) -> str:
    if not data.precision_curves:
        return _missing("precision curves")
    series = [Series(c.name, c.sizes, c.precision, c.spread) for c in data.precision_curves]
    return line_chart(
        series,
        title="precision at subset size",
        xlabel="subset size (clips)",
        ylabel="precision",
        ylim=(0.0, 1.0),
        marker_x=data.true_set_size,
        marker_label="true-set size",
    )


def _objective_section(data: ReportData) -> str:
    if data.objective_trace is None or len(data.objective_trace) == 0:
        return _missing("objective trace")
    y = np.asarray(data.objective_trace, dtype=float)
    return line_chart(
        [Series("objective", np.arange(1, y.size + 1), y)],
        title="objective during selection",
        xlabel=data.objective_steps,
        ylabel=data.objective_label,
    )


def _contingency_section(data: ReportData) -> str:
    if data.contingency is None:
        return _missing("contingency table")
    a, v = data.contingency_pair
    return heatmap(data.contingency, title=f"{a} x {v}", row_label=a, col_label=v)


def _clusters_section(data: ReportData) -> str:
    if not data.cluster_sizes:
        return _missing("clusterings")
    charts = []
    for i, (name, sizes) in enumerate(data.cluster_sizes.items()):
        ordered = np.sort(np.asarray(sizes, dtype=float))[::-1]
        charts.append(
            bar_chart(
                ordered,
                title=f"cluster sizes: {name}",
                xlabel=f"{name}, clusters by size",
                ylabel="clips",
                colour=_colour(i),
            )
        )
    return f'<div class="grid">{"".join(charts)}</div>'


def _colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _failures_section(data: ReportData) -> str:
    if not data.failures:
        return "<p>No failures recorded.</p>"
    rows = sorted(data.failures, key=lambda r: (-int(r[2]), r[0], r[1]))
    return _table(["stage", "reason", "count"], [[s, r, int(c)] for s, r, c in rows])


def _stages_section(data: ReportData) -> str:
    if not data.stage_seconds:
        return _missing("stage timings")
    chart = bar_chart(
        dict(data.stage_seconds),
        title="seconds per stage",
        xlabel="stage",
        ylabel="seconds",
        colour=_colour(3),
    )
    total = float(sum(data.stage_seconds.values()))
    rows = [[k, float(v)] for k, v in data.stage_seconds.items()] + [["total", total]]
    return chart + _table(["stage", "seconds"], rows)


def _auto_size_section(data: ReportData) -> str:
    """The estimated share of corresponding clips, and next to it the true size where the
    corpus has a truth."""
    rows = []
    if data.auto_size:
        a = data.auto_size
        rows.append(["this curation (--size auto)", a["estimated_size"],
                     f"{a['estimated_share']:.3f} ({a['share_low']:.3f}-{a['share_high']:.3f})",
                     "", ""])  # fmt: skip
    if data.evaluated_auto_size:
        a = data.evaluated_auto_size
        share = a["estimated_share"]
        rows.append([f"evaluation, {share['n']} seeds", a["estimated_size"],
                     f"{share['mean']:.3f} +- {share['std']:.3f} "
                     f"({a['share_low']:.3f}-{a['share_high']:.3f})",
                     data.true_set_size if data.true_set_size is not None else "",
                     f"{a['precision']['mean']:.3f}"])  # fmt: skip
    if not rows:
        return _missing("auto size (run with --size auto, or evaluate a corpus with a truth)")
    header = ["estimate", "auto size", "share (range)", "true size", "precision at auto size"]
    return _table(header, rows)


def _contributions_section(data: ReportData) -> str:
    """Histograms of the kept and the dropped clips' contributions on shared bins."""
    kept, dropped = data.contributions_kept, data.contributions_dropped
    if kept is None or dropped is None or not (len(kept) + len(dropped)):
        return _missing("per-clip contributions")
    values = np.concatenate([kept, dropped])
    edges = np.histogram_bin_edges(values, bins=30)
    centres = (edges[:-1] + edges[1:]) / 2
    series = [
        Series(f"{name} ({len(v)})", centres, np.histogram(v, bins=edges)[0] / max(len(v), 1))
        for name, v in (("kept", kept), ("dropped", dropped))
        if len(v)
    ]
    chart = line_chart(
        series,
        title="contribution of each clip to the subset",
        xlabel="contribution (change of the subset's total information, nats)",
        ylabel="share of clips",
        marker_x=0.0,
        marker_label="0",
    )
    rows = [
        [name, len(v), float(np.median(v)), float(np.mean(v > 0))]
        for name, v in (("kept", kept), ("dropped", dropped))
        if len(v)
    ]
    return chart + _table(["clips", "count", "median", "share above 0"], rows)


def _clip_card(clip: ClipPreview) -> str:
    image = (
        f'<img alt="{escape(clip.label)}" src="data:image/jpeg;base64,'
        f'{base64.b64encode(clip.image_jpeg).decode()}">'
        if clip.image_jpeg
        else '<p class="missing">no frame</p>'
    )
    audio = (
        f'<audio controls preload="metadata" src="data:{escape(clip.audio_mime)};base64,'
        f'{base64.b64encode(clip.audio).decode()}"></audio>'
        if clip.audio
        else '<p class="missing">no sound</p>'
    )
    return (
        f'<div class="clip">{image}{audio}<div><b>{escape(clip.label)}</b></div>'
        f"<div>{escape(clip.caption)}</div></div>"
    )


def _clips_section(clips: Sequence[ClipPreview], what: str) -> str:
    if not clips:
        return _missing(what)
    return f'<div class="grid">{"".join(_clip_card(c) for c in clips)}</div>'


def report_html(data: ReportData) -> str:
    """The report page as one HTML string."""
    summary = _table(None, [[k, v] for k, v in data.summary.items()]) if data.summary else ""
    notes = "".join(f"<p>{escape(n)}</p>" for n in data.notes)
    sections = [
        ("Summary", _headline(data) + summary + notes),
        ("Precision at the true-set size", _scores_section(data)),
        ("Precision by subset size", _curves_section(data)),
        ("Objective during selection", _objective_section(data)),
        ("Contingency table of the best audio-visual pair", _contingency_section(data)),
        ("Cluster sizes", _clusters_section(data)),
        ("Failures by reason", _failures_section(data)),
        ("Time per stage", _stages_section(data)),
        ("Auto size", _auto_size_section(data)),
        ("Contributions of kept and dropped clips", _contributions_section(data)),
        ("Kept clips", _clips_section(data.top_clips, "kept clips")),
        ("Dropped clips", _clips_section(data.bottom_clips, "dropped clips")),
    ]
    body = "".join(
        f'<section id="{escape(title.lower().replace(" ", "-"))}"><h2>{escape(title)}</h2>'
        f"{content}</section>"
        for title, content in sections
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(data.title)}</title><style>{_CSS}</style></head>"
        f"<body><h1>{escape(data.title)}</h1>{body}</body></html>"
    )


def render_report(data: ReportData, out_path: str | os.PathLike[str]) -> str:
    """Write the report to ``out_path`` (temporary name, then rename); returns the path."""
    path = Path(out_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(report_html(data), encoding="utf-8")
    os.replace(tmp, path)
    return str(path)
