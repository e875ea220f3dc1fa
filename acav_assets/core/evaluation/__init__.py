"""The controlled correspondence benchmark: demo corpus, metrics, baselines and the report."""

from acav_assets.core.evaluation.baselines import (
    CCARanking,
    ContrastiveRanking,
    PCARanking,
    cosine_scores,
    order_by_score,
    random_order,
    random_selection,
    stack_layers,
)
from acav_assets.core.evaluation.corpus import (
    CorpusInfo,
    clip_truth,
    generate_corpus,
    load_truth,
)
from acav_assets.core.evaluation.metrics import (
    SelectionScores,
    mean_and_spread,
    precision_at_sizes,
    selection_scores,
)
from acav_assets.core.evaluation.previews import ClipPreview, extract_preview
from acav_assets.core.evaluation.report import (
    MethodScore,
    PrecisionCurve,
    ReportData,
    render_report,
    report_html,
)

__all__ = [
    "CCARanking",
    "ClipPreview",
    "ContrastiveRanking",
    "CorpusInfo",
    "MethodScore",
    "PCARanking",
    "PrecisionCurve",
    "ReportData",
    "SelectionScores",
    "clip_truth",
    "cosine_scores",
    "extract_preview",
    "generate_corpus",
    "load_truth",
    "mean_and_spread",
    "order_by_score",
    "precision_at_sizes",
    "random_order",
    "random_selection",
    "render_report",
    "report_html",
    "selection_scores",
    "stack_layers",
]
