"""Small inline SVG charts for the report: line charts, bar charts, heatmaps.

Written by hand so the report is one self-contained file that works offline and needs no
plotting library; every chart is a ``<svg class="chart">`` string with its own axes, ticks
and legend. Text is escaped; numbers are formatted, never evaluated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

import numpy as np

PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
_W, _H = 640, 320
_L, _R, _T, _B = 56, 150, 16, 40


@dataclass(frozen=True)
class Series:
    """One line: ``x`` and ``y`` of equal length, optional ``spread`` drawn as a band."""

    name: str
    x: np.ndarray
    y: np.ndarray
    spread: np.ndarray | None = None


def _ticks(low: float, high: float, n: int = 5) -> np.ndarray:
    if high <= low:
        high = low + 1.0
    raw = (high - low) / n
    step = 10 ** np.floor(np.log10(raw))
    for mult in (1, 2, 5, 10):
        if raw <= mult * step:
            step *= mult
            break
    return np.arange(np.ceil(low / step) * step, high + step * 1e-9, step)


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 or float(value).is_integer() else f"{value:.3g}"


def _open(title: str, width: int = _W, height: int = _H) -> list[str]:
    return [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]


def _axes(parts, xlim, ylim, xlabel, ylabel, sx, sy, x_ticks=True) -> None:
    x0, x1, y0, y1 = _L, _W - _R, _H - _B, _T
    parts.append(
        f'<g stroke="#444" stroke-width="1"><line x1="{x0}" y1="{y0}" x2="{x1}" '
        f'y2="{y0}"/><line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}"/></g>'
    )
    text = []
    for t in _ticks(*ylim):
        y = sy(t)
        parts.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" stroke="#eee"/>')
        text.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(t)}</text>')
    if x_ticks:
        for t in _ticks(*xlim):
            x = sx(t)
            text.append(f'<text x="{x:.1f}" y="{y0 + 16}" text-anchor="middle">{_fmt(t)}</text>')
    text.append(
        f'<text x="{(x0 + x1) / 2}" y="{_H - 6}" text-anchor="middle">{escape(xlabel)}</text>'
    )
    text.append(
        f'<text transform="translate(14 {(y0 + y1) / 2}) rotate(-90)" '
        f'text-anchor="middle">{escape(ylabel)}</text>'
    )
    parts.append(f'<g font-family="sans-serif" font-size="11" fill="#222">{"".join(text)}</g>')


def _legend(parts: list[str], names: Sequence[str]) -> None:
    for i, name in enumerate(names):
        y = _T + 12 + 18 * i
        colour = PALETTE[i % len(PALETTE)]
        parts.append(
            f'<rect x="{_W - _R + 12}" y="{y - 8}" width="12" height="10" fill="{colour}"/>'
            f'<text x="{_W - _R + 30}" y="{y + 1}" font-family="sans-serif" font-size="11">'
            f"{escape(name)}</text>"
        )


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    ylim: tuple[float, float] | None = None,
    marker_x: float | None = None,
    marker_label: str = "",
) -> str:
    """Lines (and spread bands) of ``series`` on shared axes; ``marker_x`` draws a dashed
    vertical line (e.g. the size of the true set)."""
    valid = [s for s in series if len(s.x)]
    if not valid:
        raise ValueError(f"line chart {title!r} has no data")
    xs = np.concatenate([np.asarray(s.x, float) for s in valid])
    ys = np.concatenate([np.asarray(s.y, float) for s in valid])
    xlim = (float(xs.min()), float(xs.max()) if xs.max() > xs.min() else float(xs.min()) + 1)
    ylim = ylim or (
        float(ys.min()),
        float(ys.max()) if ys.max() > ys.min() else float(ys.min()) + 1,
    )

    def sx(x):
        return _L + (x - xlim[0]) / (xlim[1] - xlim[0]) * (_W - _L - _R)

    def sy(y):
        return _H - _B - (y - ylim[0]) / (ylim[1] - ylim[0]) * (_H - _B - _T)

    parts = _open(title)
    _axes(parts, xlim, ylim, xlabel, ylabel, sx, sy)
    for i, s in enumerate(series):
        if not len(s.x):
            continue
        colour = PALETTE[i % len(PALETTE)]
        x, y = np.asarray(s.x, float), np.clip(np.asarray(s.y, float), *ylim)
        if s.spread is not None:
            lo = np.clip(y - np.asarray(s.spread, float), *ylim)
            hi = np.clip(y + np.asarray(s.spread, float), *ylim)
            band = [f"{sx(a):.1f},{sy(b):.1f}" for a, b in zip(x, hi, strict=True)]
            band += [f"{sx(a):.1f},{sy(b):.1f}" for a, b in zip(x[::-1], lo[::-1], strict=True)]
            parts.append(f'<polygon points="{" ".join(band)}" fill="{colour}" opacity="0.15"/>')
        points = " ".join(f"{sx(a):.1f},{sy(b):.1f}" for a, b in zip(x, y, strict=True))
        parts.append(
            f'<polyline class="series" points="{points}" fill="none" '
            f'stroke="{colour}" stroke-width="1.8"/>'
        )
    if marker_x is not None and xlim[0] <= marker_x <= xlim[1]:
        mx = sx(marker_x)
        parts.append(
            f'<line x1="{mx:.1f}" y1="{_T}" x2="{mx:.1f}" y2="{_H - _B}" stroke="#000" '
            f'stroke-dasharray="4 3"/><text x="{mx - 4:.1f}" y="{_T + 10}" text-anchor="end" '
            f'font-family="sans-serif" font-size="10">{escape(marker_label)}</text>'
        )
    _legend(parts, [s.name for s in series])
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    values: Mapping[str, float] | Sequence[float],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    colour: str = PALETTE[0],
) -> str:
    """Vertical bars, one per value; labelled when given as a mapping (a histogram of
    cluster sizes passes the sizes in order)."""
    if isinstance(values, Mapping):
        labels, heights = list(values.keys()), np.asarray(list(values.values()), float)
    else:
        heights = np.asarray(values, float)
        labels = [str(i) for i in range(heights.size)]
    if heights.size == 0:
        raise ValueError(f"bar chart {title!r} has no data")
    ylim = (0.0, float(heights.max()) if heights.max() > 0 else 1.0)
    width = (_W - _L - _R) / heights.size

    def sy(y):
        return _H - _B - (y - ylim[0]) / (ylim[1] - ylim[0]) * (_H - _B - _T)

    parts = _open(title)
    _axes(parts, (0, heights.size), ylim, xlabel, ylabel, lambda x: x, sy, x_ticks=False)
    every = max(1, heights.size // 16)
    for i, h in enumerate(heights):
        x = _L + i * width
        parts.append(
            f'<rect class="bar" x="{x + 0.1 * width:.1f}" y="{sy(h):.1f}" '
            f'width="{0.8 * width:.1f}" height="{sy(0) - sy(h):.1f}" fill="{colour}">'
            f"<title>{escape(labels[i])}: {_fmt(h)}</title></rect>"
        )
        if i % every == 0:
            parts.append(
                f'<text x="{x + width / 2:.1f}" y="{_H - _B + 14}" font-size="10" '
                f'font-family="sans-serif" text-anchor="middle">'
                f"{escape(labels[i][:10])}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def heatmap(
    counts: np.ndarray, *, title: str, row_label: str, col_label: str, cell: int = 14
) -> str:
    """A contingency table as a grid of cells shaded by count (white = 0)."""
    M = np.asarray(counts, dtype=float)
    if M.ndim != 2 or M.size == 0:
        raise ValueError(f"heatmap {title!r} needs a non-empty 2-d table, got {M.shape}")
    rows, cols = M.shape
    left, top = 60, 24
    width, height = left + cols * cell + 20, top + rows * cell + 40
    parts = _open(title, width, height)
    peak = M.max() if M.max() > 0 else 1.0
    for r in range(rows):
        for c in range(cols):
            shade = int(255 * (1 - M[r, c] / peak))
            parts.append(
                f'<rect class="cell" x="{left + c * cell}" y="{top + r * cell}" '
                f'width="{cell}" height="{cell}" fill="rgb({shade},{shade},255)">'
                f"<title>{r}, {c}: {_fmt(M[r, c])}</title></rect>"
            )
    parts.append(
        f'<g font-family="sans-serif" font-size="11"><text x="{left + cols * cell / 2}" '
        f'y="{top - 8}" text-anchor="middle">{escape(col_label)} (columns)</text>'
        f'<text transform="translate(40 {top + rows * cell / 2}) rotate(-90)" '
        f'text-anchor="middle">{escape(row_label)} (rows)</text>'
        f'<text x="{left}" y="{top + rows * cell + 16}">max {_fmt(peak)} per cell</text></g>'
    )
    parts.append("</svg>")
    return "".join(parts)
