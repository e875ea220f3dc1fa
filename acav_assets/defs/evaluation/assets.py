"""``evaluation`` (the controlled correspondence test of a corpus with known truth) and
``curation_report`` (the page a person reads, rebuilt from what the pipeline stored)."""

from collections import defaultdict

import dagster as dg
import polars as pl

from acav_assets.core.clustering import ClusteringSet, embedding_sources
from acav_assets.core.evaluation import evaluate_correspondence, load_truth
from acav_assets.core.evaluation.correspondence import load_evaluation, save_evaluation
from acav_assets.core.evaluation.options import EvaluationOptions
from acav_assets.core.evaluation.report import build_report_data, render_report, report_html
from acav_assets.core.features import EmbeddingStore
from acav_assets.defs.config import config_class, to_options
from acav_assets.defs.execution import k8s_op_tags
from acav_assets.defs.markdown import markdown_table
from acav_assets.defs.progress import log_progress
from acav_assets.defs.resources import AcavHome

EVALUATION_CODE_VERSION = "1"
REPORT_PATH = ("reports", "report.html")
TIMED_ASSETS = ["videos", "audio_embeddings", "clusterings", "cluster_assignments",
                "shard_selection", "curated_subset", "curated_export"]  # fmt: skip

EvaluationConfig = config_class(EvaluationOptions, name="EvaluationConfig")


class ReportConfig(dg.Config):
    """``copy_to``: also write the page to this local file (the CLI's output folder)."""

    copy_to: str | None = None


@dg.asset(
    deps=["clips", "audio_embeddings", "visual_embeddings"],
    group_name="evaluation",
    description="The paper's controlled test on a corpus with known correspondence: acav and "
    "the baselines (random, CCA ranking, contrastive) at the size of the true set, over seeds.",
    code_version=EVALUATION_CODE_VERSION,
    kinds={"faiss", "json"},
    op_tags=k8s_op_tags(cpu="4", memory="16Gi"),
)
def evaluation(
    context: dg.AssetExecutionContext, acav: AcavHome, config: EvaluationConfig
) -> dg.MaterializeResult:
    options = to_options(config, EvaluationOptions)
    root = acav.storage()
    sources = embedding_sources(EmbeddingStore(root), options.clustering.extractors())
    result = evaluate_correspondence(
        root,
        acav.tables(),
        load_truth(options.corpus),
        sources,
        seeds=range(options.seeds),
        clustering=options.clustering,
        selection=options.selection,
        progress=log_progress(context, "seeds"),
    )
    save_evaluation(root, result)
    scores = [
        (name, f"{m['precision']['mean']:.3f} +/- {m['precision']['std']:.3f}")
        for name, m in result["methods"].items()
    ]
    return dg.MaterializeResult(
        metadata={
            "true_set_size": result["true_set_size"],
            "candidates": result["candidates"],
            "ceiling": dg.MetadataValue.float(round(result["ceiling"], 4)),
            "precision": dg.MetadataValue.md(markdown_table(["method", "precision"], scores)),
        }
    )


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
    deps=["curated_export", "quality", "lineage", "evaluation"],
    group_name="evaluation",
    description="A self-contained HTML report: summary, precision curves when the truth is "
    "known, the objective during selection, contingency heatmap, cluster sizes, failures, "
    "time per stage, top and bottom clips with sound.",
    code_version=EVALUATION_CODE_VERSION,
    kinds={"html"},
    op_tags=k8s_op_tags(cpu="1", memory="2Gi"),
)
def curation_report(
    context: dg.AssetExecutionContext, acav: AcavHome, config: ReportConfig
) -> dg.MaterializeResult:
    root, tables = acav.storage(), acav.tables()
    version = ClusteringSet.latest_version(root)
    assigned = tables.read("cluster_assignments")
    shards = assigned.filter(pl.col("clustering_version") == version)["shard"].unique()
    evaluation = load_evaluation(root, shards.to_list())
    data = build_report_data(
        root,
        tables,
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
