"""The curation report: what the pipeline stored, gathered (``data``) and rendered as one
self-contained HTML page (``html``, with inline SVG charts and clip previews)."""

from acav_assets.core.evaluation.report.data import build_report_data
from acav_assets.core.evaluation.report.html import (
    MethodScore,
    PrecisionCurve,
    ReportData,
    render_report,
    report_html,
)
from acav_assets.core.evaluation.report.previews import ClipPreview, extract_preview

__all__ = [
    "ClipPreview",
    "MethodScore",
    "PrecisionCurve",
    "ReportData",
    "build_report_data",
    "extract_preview",
    "render_report",
    "report_html",
]
