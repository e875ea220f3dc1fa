"""``acav curate``, ``acav evaluate`` and ``acav demo``: the code location's jobs, in this
process, from sources to the published set and its report."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from typing import Annotated, Any

import typer

from acav_assets.cli.app import app
from acav_assets.cli.common import HomeOption, operational, opt, print_summary, stage_bar, stderr
from acav_assets.cli.pipeline import (
    AllowRootOption,
    ClipStrategyOption,
    EstimatorOption,
    KOption,
    MinDurationOption,
    PairingOption,
    SeedsOption,
    ShardSizeOption,
    SizeOption,
    SourcesArgument,
    StrategyOption,
    checked,
    checked_manifests,
    default_roots,
    parse_size,
    runner,
    shard_prefixes,
)
from acav_assets.core.clustering.options import ClusteringOptions
from acav_assets.core.evaluation.options import EvaluationOptions
from acav_assets.core.export.options import ExportOptions
from acav_assets.core.media.options import IngestOptions
from acav_assets.core.selection.options import SelectionOptions


def _curation(sources: list[str], out: str, **options: Any):
    """The typed request (``options``: the domains' option objects), checked in core before
    any work."""
    from acav_assets.defs.local import Curation

    curation = Curation(
        sources=tuple(os.path.abspath(s) for s in sources),
        report_to=os.path.abspath(os.path.join(out, "report.html")),
        **options,
    )
    checked(curation.clustering.validate)
    checked(curation.selection.validate)
    checked(curation.ingest.validate)
    return curation


@app.command("curate")
def curate(
    sources: SourcesArgument,
    out: Annotated[str, typer.Option(help="Folder for subset.csv, subset.parquet, report.html.")],
    ratio: Annotated[float | None, opt(SelectionOptions, "ratio", min=0.0, max=1.0)] = None,
    size: SizeOption = None,
    home: HomeOption = None,
    shard_size: ShardSizeOption = IngestOptions.shard_size,
    shard_ratio: Annotated[
        float, opt(SelectionOptions, "shard_ratio", min=0.0, max=1.0)
    ] = SelectionOptions.shard_ratio,
    allow_root: AllowRootOption = None,
    clip_strategy: ClipStrategyOption = IngestOptions.clip_strategy,
    min_duration: MinDurationOption = IngestOptions.min_duration_s,
    k: KOption = ClusteringOptions.k,
    strategy: StrategyOption = SelectionOptions.strategy,
    estimator: EstimatorOption = SelectionOptions.estimator,
    pairing: PairingOption = SelectionOptions.pairing,
    seed: Annotated[int, opt(SelectionOptions, "seed")] = SelectionOptions.seed,
    webdataset: Annotated[bool, opt(ExportOptions, "webdataset")] = ExportOptions.webdataset,
) -> None:
    """Curate videos end to end through the Dagster asset graph: ingest, embed, cluster,
    select, merge, export and report."""
    from acav_assets.defs.local import curate_sources, summarize

    if ratio is not None and size is not None:
        raise typer.BadParameter("give --ratio or --size, not both", param_hint="--ratio")
    roots = allow_root or default_roots(sources)
    curation = _curation(
        sources,
        out,
        ingest=IngestOptions(allowed_roots=tuple(roots), shard_size=shard_size,
                             clip_strategy=clip_strategy, min_duration_s=min_duration),
        clustering=ClusteringOptions(k=k, seed=seed),
        selection=SelectionOptions(strategy=strategy, estimator=estimator, pairing=pairing,
                                   seed=seed, ratio=ratio, shard_ratio=shard_ratio,
                                   **parse_size(size)),
        export=ExportOptions(webdataset=webdataset),
    )  # fmt: skip
    prefixes = shard_prefixes(checked_manifests(sources))
    with stage_bar() as stage:
        run = runner(home, roots, stage)

        def curate_all() -> dict[str, Any]:
            return summarize(run, curation, curate_sources(run, curation, prefixes), out)

        result = operational(curate_all)
    print_summary(result)


def _evaluate(
    corpus: str,
    out: str,
    home: str | None,
    seeds: int,
    clustering: ClusteringOptions,
    selection: SelectionOptions,
    ingest: IngestOptions,
) -> dict:
    """Curate a corpus with a truth to the size of its true set, after scoring acav and the
    baselines on it: what ``evaluate`` and ``demo`` run."""
    from acav_assets.defs.local import (
        curate_shards,
        evaluate_corpus,
        ingest_shards,
        register_sources,
        summarize,
    )

    corpus = os.path.abspath(corpus)
    sources = [os.path.join(corpus, "manifest.csv")]
    curation = _curation(
        sources,
        out,
        ingest=replace(ingest, allowed_roots=(corpus,)),
        clustering=clustering,
        selection=selection,
    )
    prefixes = shard_prefixes(checked_manifests(sources))
    with stage_bar() as stage:
        run = runner(home, [corpus], stage)

        def evaluate_all() -> dict[str, Any]:
            shards = register_sources(run, curation, prefixes)
            ingest_shards(run, curation, shards)
            result = evaluate_corpus(run, curation, shards, corpus, seeds)
            size = result["true_set_size"]
            curate_shards(run, replace(curation, selection=replace(curation.selection, size=size)),
                          shards)  # fmt: skip
            from acav_assets.core.storage import StorageRoot

            copy = StorageRoot(os.path.abspath(out))
            copy.write_bytes(copy.path("evaluation.json"), json.dumps(result, indent=2).encode())
            precision = {name: m["precision"] for name, m in result["methods"].items()}
            return summarize(run, curation, shards, out) | {
                "true_set_size": size,
                "true_share": round(result["true_share"], 4),
                "auto_size": _auto_summary(result["auto_size"]),
                "candidates": result["candidates"],
                "ceiling": round(result["ceiling"], 4),
                "precision": {name: round(p["mean"], 4) for name, p in precision.items()},
                "precision_std": {name: round(p["std"], 4) for name, p in precision.items()},
                "evaluation": copy.path("evaluation.json"),
            }

        return operational(evaluate_all)


def _auto_summary(auto: dict[str, Any]) -> dict[str, Any]:
    """What the evaluation's auto size says, in the summary's rounding."""
    share = auto["estimated_share"]
    return {
        "estimated_share": round(share["mean"], 4),
        "estimated_share_std": round(share["std"], 4),
        "share_range": [auto["share_low"], auto["share_high"]],
        "estimated_size": auto["estimated_size"],
        "precision": round(auto["precision"]["mean"], 4),
    }


def _headline(summary: dict[str, Any]) -> str:
    precision = summary["precision"]
    lifts = ", ".join(
        f"{name} {value:.3f} ({precision['acav'] - value:+.3f})"
        for name, value in precision.items()
        if name != "acav"
    )
    auto = summary["auto_size"]
    return (
        f"acav precision {precision['acav']:.3f} +/- {summary['precision_std']['acav']:.3f} "
        f"at the true-set size {summary['true_set_size']} of {summary['candidates']} clips; "
        f"baselines (acav's lead): {lifts}; what the sample allows (classes known, pairing "
        f"not): {summary['ceiling']:.3f}\n"
        f"auto size (not told the true size): {auto['estimated_size']} clips, share "
        f"{auto['estimated_share']:.3f} +/- {auto['estimated_share_std']:.3f} (range "
        f"{auto['share_range'][0]:.3f}-{auto['share_range'][1]:.3f}) against the true "
        f"{summary['true_share']:.3f}; precision there {auto['precision']:.3f}"
    )


@app.command("evaluate")
def evaluate(
    corpus: Annotated[str, typer.Option(help="A corpus with manifest.csv and truth.csv.")],
    out: Annotated[
        str | None, typer.Option(help="Output folder (default: CORPUS/../evaluation).")
    ] = None,
    home: HomeOption = None,
    seeds: SeedsOption = EvaluationOptions.seeds,
    k: KOption = ClusteringOptions.k,
    strategy: StrategyOption = SelectionOptions.strategy,
    estimator: EstimatorOption = SelectionOptions.estimator,
    pairing: PairingOption = SelectionOptions.pairing,
    clip_strategy: ClipStrategyOption = IngestOptions.clip_strategy,
) -> None:
    """Curate a corpus with known audio-visual correspondence to the size of its true set and
    score acav against random, CCA ranking and contrastive baselines over several seeds."""
    if not os.path.isfile(os.path.join(corpus, "truth.csv")):
        raise typer.BadParameter(f"{corpus!r} has no truth.csv", param_hint="--corpus")
    out = out or os.path.join(os.path.dirname(os.path.abspath(corpus)), "evaluation")
    result = _evaluate(
        corpus, out, home, seeds,
        clustering=ClusteringOptions(k=k),
        selection=SelectionOptions(strategy=strategy, estimator=estimator, pairing=pairing),
        ingest=IngestOptions(clip_strategy=clip_strategy),
    )  # fmt: skip
    stderr.print(_headline(result))
    print_summary(result)


@app.command("demo")
def demo(
    out: Annotated[
        str, typer.Option(help="Folder for the corpus, the export and the report.")
    ] = "demo",
    videos: Annotated[int, typer.Option(min=20, help="Videos in the generated corpus.")] = 120,
    seeds: SeedsOption = EvaluationOptions.seeds,
    home: HomeOption = None,
) -> None:
    """The whole product on a generated corpus: render videos with known audio-visual
    correspondence (half with swapped sound, and a sound that follows two picture traits
    together, which a linear map cannot), curate them through the Dagster graph, evaluate
    against the baselines, and write report.html."""
    from acav_assets.core.evaluation.family import CORPUS_FOLDER, DEMO, build_generated

    corpus = os.path.join(os.path.abspath(out), CORPUS_FOLDER)
    with stage_bar() as stage:
        build_generated(
            replace(DEMO, n_videos=videos),
            os.path.abspath(out),
            lambda _label, done, total: stage("rendering the demo corpus", done, total),
        )
    result = _evaluate(
        corpus, out, home, seeds, ClusteringOptions(), SelectionOptions(), IngestOptions()
    )
    stderr.print(f"report: {result['report']}")
    stderr.print(f"export: {os.path.join(result['out'], 'subset.csv')}")
    stderr.print(_headline(result))
    print_summary(result)
