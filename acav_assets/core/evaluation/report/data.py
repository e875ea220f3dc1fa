"""The report's content gathered from what the pipeline stored: tables, clusterings, the
merged selection, and (when the corpus has a ground truth) the evaluation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from acav_assets.core.catalog import TableStore
from acav_assets.core.clustering.clusterings import ClusteringSet
from acav_assets.core.evaluation.report.html import (
    MethodScore,
    PrecisionCurve,
    ReportData,
)
from acav_assets.core.evaluation.report.previews import ClipPreview, extract_preview
from acav_assets.core.export.rows import export_rows
from acav_assets.core.selection.curated import load_merged_selection, read_curated_subset
from acav_assets.core.selection.information import contingency, mutual_info
from acav_assets.core.selection.pairing import is_primary, parse_column
from acav_assets.core.selection.sharded import (
    CLIP_SCORES_SHARD,
    CLIP_SCORES_TABLE,
    ESTIMATE_COLUMNS,
    auto_target,
)
from acav_assets.core.selection.strategies import STRATEGIES
from acav_assets.core.storage import StorageRoot

# Clips shown at each end of the kept and of the dropped ones, by contribution: the clearest
# and the borderline cases, for a person to judge by eye and ear.
N_PREVIEWS = 3


def _failures(tables: TableStore) -> list[tuple[str, str, int]]:
    rows: list[tuple[str, str, int]] = []
    for stage in ("videos", "embeddings"):
        frame = tables.read(stage)
        if frame.height == 0:
            continue
        dropped = frame.filter(pl.col("reason").is_not_null())
        counts = dropped.group_by("reason").len().sort("len", descending=True)
        rows += [(stage, reason, int(n)) for reason, n in counts.iter_rows()]
    return rows


def best_pair(labels: pl.DataFrame, columns: Sequence[str], ks: Sequence[int]) -> tuple[str, str]:
    """The audio-visual pair of clusterings with the highest MI on ``labels``."""
    k = dict(zip(columns, ks, strict=True))
    audio = [c for c in columns if parse_column(c)[0] == "audio"]
    visual = [c for c in columns if parse_column(c)[0] == "visual"]
    scored = [
        (mutual_info(labels[a].to_numpy(), labels[v].to_numpy(), k[a], k[v]), a, v)
        for a in audio
        for v in visual
    ]
    _, a, v = max(scored)
    return a, v


def _ends(frame: pl.DataFrame, n: int) -> pl.DataFrame:
    """The ``n`` highest and ``n`` lowest rows by contribution, highest first, once each."""
    ordered = frame.sort("contribution", descending=True)
    if ordered.height <= 2 * n:
        return ordered
    return pl.concat([ordered.head(n), ordered.tail(n)])


def _previews(root: StorageRoot, rows: pl.DataFrame, caption: str) -> list[ClipPreview]:
    previews = []
    for row in rows.iter_rows(named=True):
        start = row["media_start_s"]
        with root.local_file(row["media_path"]) as path:
            preview = extract_preview(
                path,
                start,
                start + row["end_s"] - row["start_s"],
                label=row["clip_id"],
                caption=f"{caption}, contribution {row['contribution']:+.3f}; "
                f"{row['url']} @ {row['start_s']:.1f}s",
            )
        previews.append(preview)
    return previews


def build_report_data(
    root: StorageRoot,
    tables: TableStore,
    *,
    stage_seconds: Mapping[str, float] | None = None,
    evaluation: Mapping[str, Any] | None = None,
    title: str = "acav curation report",
) -> ReportData:
    """Everything the report shows, from the stored products of the last curation.

    ``evaluation`` (from the correspondence benchmark) adds the method scores and precision
    curves: ``{"true_set_size", "methods": {name: {"precision": {"mean", "std"}, "recall",
    "f1", "n_seeds"}}, "curves": {name: {"sizes", "precision", "spread"}}}``.
    """
    trained = ClusteringSet.load(root)
    subset = read_curated_subset(root, tables)
    assigned = tables.read("cluster_assignments")
    assigned = assigned.filter(pl.col("clustering_version") == trained.version)
    videos = tables.read("videos")
    chosen = assigned.join(subset.select("clip_id", "rank"), on="clip_id", how="inner")
    _, trace, strategy = load_merged_selection(root)
    pair = best_pair(chosen, trained.columns, trained.ks) if chosen.height else None
    table = None
    if pair is not None:
        k = dict(zip(trained.columns, trained.ks, strict=True))
        table = contingency(
            chosen[pair[0]].to_numpy(), chosen[pair[1]].to_numpy(), k[pair[0]], k[pair[1]]
        )
    clips = tables.read("clips")
    scores = tables.read(CLIP_SCORES_TABLE, [CLIP_SCORES_SHARD])
    kept = export_rows(_ends(subset, N_PREVIEWS), clips, videos)
    dropped = scores.filter(~pl.col("kept"))
    bottom = export_rows(
        _ends(dropped, N_PREVIEWS).with_columns(pl.lit(-1).alias("rank")), clips, videos
    )
    primary = [(c, k) for c, k in zip(trained.columns, trained.ks, strict=True) if is_primary(c)]
    statuses = videos.group_by("status").len().sort("status")
    summary: dict[str, Any] = {f"videos {s}": int(n) for s, n in statuses.iter_rows()}
    summary.update(
        {
            "videos": videos.height,
            "clips assigned": assigned.height,
            "clips selected": subset.height,
            "clusterings": ", ".join(f"{c} (k={k})" for c, k in primary)
            + (
                f"; with the ensemble's variants {len(trained.columns)} in all"
                if len(primary) < len(trained.columns)
                else ""
            ),  # fmt: skip
            "clustering version": trained.version,
            "objective F(S), nats": float(trace[-1]) if trace.size else 0.0,
        }
    )
    data = ReportData(
        title=title,
        summary=summary,
        objective_trace=trace,
        objective_steps=STRATEGIES[strategy].trace_steps if strategy in STRATEGIES else "steps",
        contingency=table,
        contingency_pair=pair or ("audio clustering", "visual clustering"),
        cluster_sizes={c: np.asarray(trained.sample_sizes[c]) for c, _ in primary},
        failures=_failures(tables),
        stage_seconds=dict(stage_seconds or {}),
        top_clips=_previews(root, kept, "kept"),
        bottom_clips=_previews(root, bottom, "dropped"),
        contributions_kept=scores.filter(pl.col("kept"))["contribution"].to_numpy(),
        contributions_dropped=dropped["contribution"].to_numpy(),
    )
    winners = tables.read("shard_selections")
    if set(ESTIMATE_COLUMNS) <= set(winners.columns):
        winners = winners.filter(
            (pl.col("clustering_version") == trained.version)
            & pl.col("estimated_share").is_not_null()
        )
        if winners.height:
            data.auto_size = auto_target(winners, assigned.height)
    if evaluation:
        data.true_set_size = int(evaluation["true_set_size"])
        data.evaluated_auto_size = evaluation.get("auto_size")
        data.ceiling = evaluation.get("ceiling")
        data.method_scores = [
            MethodScore(
                name=name,
                precision_mean=m["precision"]["mean"],
                precision_std=m["precision"]["std"],
                recall_mean=m.get("recall"),
                f1_mean=m.get("f1"),
                n_seeds=m.get("n_seeds", 1),
            )
            for name, m in evaluation["methods"].items()
        ]
        data.precision_curves = [
            PrecisionCurve(
                name=name,
                sizes=np.asarray(c["sizes"]),
                precision=np.asarray(c["precision"]),
                spread=np.asarray(c["spread"]) if c.get("spread") is not None else None,
            )
            for name, c in evaluation.get("curves", {}).items()
        ]
    return data
