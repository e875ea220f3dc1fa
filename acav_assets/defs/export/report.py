"""``curation_report``: the page a person reads, rebuilt from what the pipeline stored."""

import json
from collections import defaultdict

import dagster as dg

from acav_assets.core.curation.reporting import build_report_data
from acav_assets.core.evaluation import render_report, report_html
from acav_assets.defs.execution import k8s_op_tags
from acav_assets.defs.resources import AcavHome

REPORT_PATH = ("reports", "report.html")
EVALUATION_PATH = ("reports", "evaluation.json")
TIMED_ASSETS = ["videos", "audio_embeddings", "clusterings", "cluster_assignments",
                "shard_selection", "curated_subset", "curated_export"]  # fmt: skip


class ReportConfig(dg.Config):
    """``copy_to``: also write the page to this local file (the CLI's output folder)."""

    copy_to: str | None = None


def stage_seconds(instance: dg.DagsterInstance, asset_keys: list[str]) -> dict[str, float]:
    """Seconds spent per step over every run that materialized these assets."""
    runs = {
        record.run_id
        for key in asset_keys
        for record in instance.fetch_materializations(dg.AssetKey(key), limit=10_000).records
    }
    totals: dict[str, float] = defaultdict(float)
    for run_id in runs:
        for stat in instance.get_run_step_stats(run_id):
            if stat.start_time is not None and stat.end_time is not None:
                totals[stat.step_key] += stat.end_time - stat.start_time
    return dict(sorted(totals.items()))


@dg.asset(
    deps=["curated_export", "quality", "lineage"],
    group_name="publish",
    description="A self-contained HTML report: summary, precision curves when the truth is "
    "known, the objective during selection, contingency heatmap, cluster sizes, failures, "
    "time per stage, top and bottom clips with sound.",
    code_version="1",
    kinds={"html"},
    op_tags=k8s_op_tags(cpu="1", memory="2Gi"),
)
def curation_report(
    context: dg.AssetExecutionContext, acav: AcavHome, config: ReportConfig
) -> dg.MaterializeResult:
    root = acav.storage()
    evaluation_file = root.path(*EVALUATION_PATH)
    evaluation = (
        json.loads(root.read_bytes(evaluation_file)) if root.fs.exists(evaluation_file) else None
    )
    data = build_report_data(
        root,
        acav.tables(),
        stage_seconds=stage_seconds(context.instance, TIMED_ASSETS),
        evaluation=evaluation,
    )
    path = root.path(*REPORT_PATH)
    root.write_bytes(path, report_html(data).encode())
    if config.copy_to:
        render_report(data, config.copy_to)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(root.uri(*REPORT_PATH)),
            "with_evaluation": evaluation is not None,
            "summary": dg.MetadataValue.json({k: str(v) for k, v in data.summary.items()}),
        }
    )
