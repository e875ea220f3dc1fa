"""The ``acav`` command: thin fronts over core/ and the Dagster definitions.

Every command shows progress on stderr and prints one JSON summary as its last line on stdout.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

app = typer.Typer(
    help="acav: curate audio-visual datasets from uncurated video (ACAV100M, on Dagster).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
catalog_app = typer.Typer(help="The DuckDB catalog over the Parquet tables.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")

stderr = Console(stderr=True)

HomeOption = Annotated[
    str | None,
    typer.Option(
        "--home",
        help="Storage root (a folder or an s3:// URL). Defaults to $ACAV_HOME, else ./.acav.",
    ),
]


def resolve_home(home: str | None) -> str:
    """The storage root from the option, else ``$ACAV_HOME``, else ``./.acav``."""
    return home or os.environ.get("ACAV_HOME") or os.path.abspath(".acav")


def print_summary(summary: dict[str, Any]) -> None:
    """The one JSON line every command ends with."""
    sys.stdout.write(json.dumps(summary, default=str) + "\n")
    sys.stdout.flush()


# --- catalog commands ---


def _catalog(home: str | None):
    from acav_assets.defs.resources import AcavHome

    return AcavHome(root=resolve_home(home)).catalog()


@catalog_app.command("refresh")
def catalog_refresh(home: HomeOption = None) -> None:
    """Re-create the DuckDB views over every table's Parquet shards."""
    tables = _catalog(home).refresh()
    print_summary({"tables": tables})


@catalog_app.command("models")
def catalog_models(
    home: HomeOption = None,
    models: Annotated[
        str | None, typer.Option(help="Folder of SQL models (default: the shipped dbt_like_sql).")
    ] = None,
) -> None:
    """Run every SQL model in dependency order, then its declared tests; exit 1 if one fails."""
    from acav_assets.core.catalog import SqlModelError, SqlProject
    from acav_assets.defs.catalog.sql_models import SQL_DIR

    catalog = _catalog(home)
    try:
        project = SqlProject.load(models or SQL_DIR)
        with catalog.connect(write=True) as con:
            catalog.refresh_views(con)
            rows, failed = {}, []
            for model in project.order():
                rows[model.name] = project.materialize(con, model.name)
                failed += [o for o in project.test(con, model.name) if not o.passed]
                stderr.print(f"[green]built[/] {model.name} ({rows[model.name]} rows)")
    except SqlModelError as error:
        stderr.print(f"[red]error:[/] {error}")
        raise typer.Exit(1) from None
    for outcome in failed:
        stderr.print(f"[red]test failed:[/] {outcome.model}.{outcome.test}: {outcome.failing_rows}")
    print_summary({"models": rows, "failed_tests": [f"{o.model}.{o.test}" for o in failed]})
    if failed:
        raise typer.Exit(1)


@catalog_app.command("query")
def catalog_query(
    sql: Annotated[str, typer.Argument(help="A read-only SQL query over the catalog.")],
    home: HomeOption = None,
) -> None:
    """Run a SQL query over the catalog and print the result."""
    import duckdb

    try:
        frame = _catalog(home).query(sql)
    except duckdb.Error as error:
        raise typer.BadParameter(f"{error}", param_hint="SQL") from None
    stderr.print(frame)
    print_summary({"rows": frame.height, "columns": frame.columns})


# --- ingest command ---


def _default_roots(sources: list[str]) -> list[str]:
    """Folders local videos may be read from: the sources' own folders."""
    return sorted(
        {os.path.abspath(s if os.path.isdir(s) else os.path.dirname(os.path.abspath(s)))
         for s in sources}
    )  # fmt: skip


@app.command("ingest")
def ingest(
    manifests: Annotated[
        list[str],
        typer.Argument(help="Manifests (CSV, TSV, Parquet, JSONL, TXT) or folders of videos."),
    ],
    home: HomeOption = None,
    shard_size: Annotated[int, typer.Option(min=1, help="Videos per shard.")] = 1000,
    allow_root: Annotated[
        list[str] | None,
        typer.Option(
            help="Folder local videos may be read from (repeatable); "
            "default: the folders of the manifests."
        ),
    ] = None,
    clip_strategy: Annotated[str, typer.Option(help="shots, middle or uniform.")] = "shots",
    clips_per_video: Annotated[int, typer.Option(min=1, help="Clips per video, at most.")] = 3,
    clip_seconds: Annotated[float, typer.Option(min=0.1, help="Length of a clip (s).")] = 10.0,
    min_duration: Annotated[
        float, typer.Option(min=0, help="Shorter videos are dropped (s).")
    ] = 30.0,
    max_duration: Annotated[
        float, typer.Option(min=0, help="Longer videos are dropped (s).")
    ] = 597.0,
    min_height: Annotated[
        int | None, typer.Option(min=1, help="Smaller videos are dropped.")
    ] = None,
    max_height: Annotated[int, typer.Option(min=1, help="Download at most this height.")] = 360,
    concurrent_downloads: Annotated[int, typer.Option(min=1, help="Videos at once.")] = 4,
    retries: Annotated[int, typer.Option(min=0, help="Retries of a failed download.")] = 3,
    socket_timeout: Annotated[float, typer.Option(min=0.1, help="Network timeout (s).")] = 30.0,
    rate_limit: Annotated[int | None, typer.Option(min=1, help="Bytes per second.")] = None,
    cookies: Annotated[str | None, typer.Option(help="Cookies file for yt-dlp.")] = None,
    proxy: Annotated[str | None, typer.Option(help="Proxy URL for downloads.")] = None,
) -> None:
    """Register manifests and ingest all their shards: download, probe, filter, clip."""
    import uuid

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from acav_assets import __version__
    from acav_assets.core.catalog.tables import TableStore
    from acav_assets.core.media import (
        STRATEGIES,
        IngestOptions,
        ManifestError,
        ingest_shard,
        load_manifest,
        register_manifest,
    )
    from acav_assets.core.storage import StorageRoot

    if clip_strategy not in STRATEGIES:
        raise typer.BadParameter(
            f"{clip_strategy!r}: use one of {list(STRATEGIES)}", param_hint="--clip-strategy"
        )
    if cookies is not None and not os.path.isfile(cookies):
        raise typer.BadParameter(f"{cookies!r} is not a file", param_hint="--cookies")
    for manifest in manifests:  # check every manifest before registering any
        try:
            load_manifest(manifest)
        except ManifestError as error:
            raise typer.BadParameter(str(error), param_hint="MANIFESTS") from None
    roots = allow_root or _default_roots(manifests)
    options = IngestOptions(
        allowed_roots=tuple(roots),
        clip_strategy=clip_strategy,
        clips_per_video=clips_per_video,
        clip_seconds=clip_seconds,
        min_duration_s=min_duration,
        max_duration_s=max_duration,
        min_height=min_height,
        max_height=max_height,
        concurrent_downloads=concurrent_downloads,
        retries=retries,
        socket_timeout=socket_timeout,
        rate_limit=rate_limit,
        cookies_file=cookies,
        proxy=proxy,
    )
    try:
        options.validate()
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    root = StorageRoot(resolve_home(home))
    tables = TableStore(root)
    shards = [key for m in manifests for key in register_manifest(m, tables, shard_size)]
    run_id = f"cli-{uuid.uuid4().hex[:12]}"
    totals: dict[str, Any] = {"run_id": run_id, "manifests": len(manifests), "shards": shards}
    columns = (BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress("[progress.description]{task.description}", *columns, console=stderr) as bar:
        for shard in shards:
            task = bar.add_task(f"ingesting {shard}", total=None)
            stats = ingest_shard(
                root,
                tables,
                shard,
                options,
                run_id=run_id,
                code_version=__version__,
                progress=lambda done, total, task=task: bar.update(
                    task, completed=done, total=total
                ),
            )
            for key, value in stats.as_metadata().items():
                if key != "shard":
                    totals[key] = round(totals.get(key, 0) + value, 3)
    print_summary(totals)


# --- embed command ---


@app.command("embed")
def embed(
    home: HomeOption = None,
    audio: Annotated[
        str, typer.Option(help="Audio extractor (soundnet8, vggish) or 'none'.")
    ] = "soundnet8",
    visual: Annotated[
        str, typer.Option(help="Visual extractor (mobilenet_v2, r2plus1d_18) or 'none'.")
    ] = "mobilenet_v2",
    audio_weights: Annotated[
        str | None, typer.Option(help="Weights file or URL of the audio extractor.")
    ] = None,
    visual_weights: Annotated[
        str | None, typer.Option(help="Weights file or URL of the visual extractor.")
    ] = None,
    weights_cache: Annotated[
        str | None, typer.Option(help="Folder for weights downloaded from a URL.")
    ] = None,
    shard: Annotated[
        list[str] | None, typer.Option(help="Only this shard (repeatable); default: all pending.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Recompute shards already embedded.")] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Clips per network batch.")] = 16,
    num_workers: Annotated[
        int,
        typer.Option(
            min=0,
            help="Decoders beside the networks: processes on the CPU, NVDEC threads on a GPU "
            "(0: decode in-process).",
        ),
    ] = 1,
    device: Annotated[str, typer.Option(help="'auto' (GPU if any), 'cpu' or 'cuda'.")] = "auto",
    threads: Annotated[
        int | None,
        typer.Option(min=1, help="CPU threads for the networks (default: cores not decoding)."),
    ] = None,
) -> None:
    """Compute the audio and visual embeddings of every ingested shard that lacks them."""
    import torch
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from acav_assets.core.features import EXTRACTORS, embed_shards, get_extractor
    from acav_assets.core.storage import StorageRoot

    if device not in ("auto", "cpu", "cuda") and not device.startswith("cuda:"):
        raise typer.BadParameter(
            f"{device!r}: use auto, cpu, cuda or cuda:<i>", param_hint="--device"
        )
    chosen = []
    for option, name, weights, modality in (
        ("--audio", audio, audio_weights, "audio"),
        ("--visual", visual, visual_weights, "visual"),
    ):
        if name == "none":
            continue
        if name not in EXTRACTORS or EXTRACTORS[name].modality != modality:
            known = sorted(n for n, cls in EXTRACTORS.items() if cls.modality == modality)
            raise typer.BadParameter(f"{name!r}: use one of {known} or 'none'", param_hint=option)
        chosen.append(get_extractor(name, weights=weights, device=device, cache_dir=weights_cache))
    if not chosen:
        raise typer.BadParameter("both extractors are 'none': nothing to do", param_hint="--audio")
    # one core per decoding worker, the rest for the networks: oversubscribed threads spin
    torch.set_num_threads(threads or max(1, (os.cpu_count() or 1) - num_workers))
    root = StorageRoot(resolve_home(home))
    columns = (BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    try:
        with Progress("[progress.description]{task.description}", *columns, console=stderr) as bar:
            task = bar.add_task("embedding clips", total=None)
            summary = embed_shards(
                root,
                chosen,
                shards=shard,
                force=force,
                batch_size=batch_size,
                num_workers=num_workers,
                device=device,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    except (ValueError, FileNotFoundError) as error:
        stderr.print(f"[red]error:[/] {error}")
        raise typer.Exit(1) from None
    print_summary(summary)


# --- select command ---


@app.command("select")
def select(
    assignments: Annotated[
        Path,
        typer.Option(
            exists=True, dir_okay=False, help="Parquet: clip_id and audio_<layer>/visual_<layer>."
        ),
    ],
    out: Annotated[Path, typer.Option(dir_okay=False, help="Parquet written: clip_id, rank.")],
    ratio: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="Fraction of clips to select.")
    ] = None,
    size: Annotated[int | None, typer.Option(min=0, help="Number of clips to select.")] = None,
    pairing: Annotated[
        str, typer.Option(help="bipartite (audio x visual), combination or diagonal.")
    ] = "bipartite",
    batch_size: Annotated[int, typer.Option(min=1, help="Clips drawn per greedy step (B).")] = 20,
    top_k: Annotated[int, typer.Option(min=1, help="Best drawn clips kept per step (k).")] = 4,
    exact: Annotated[bool, typer.Option(help="Score every clip each step (slow).")] = False,
    strategy: Annotated[str, typer.Option(help="backward, forward or forward+swap.")] = "backward",
    estimator: Annotated[str, typer.Option(help="plugin, miller_madow or adjusted.")] = "plugin",
    seed: Annotated[int, typer.Option(help="Seed of the random draws.")] = 0,
) -> None:
    """Select the clips whose audio and visual clusterings share the most information."""
    import uuid

    import numpy as np
    import polars as pl
    from rich.progress import Progress

    from acav_assets.core.selection import BatchGreedySelector, parse_column

    if (ratio is None) == (size is None):
        raise typer.BadParameter("give exactly one of --ratio or --size", param_hint="--ratio")
    frame = pl.read_parquet(assignments)
    if "clip_id" not in frame.columns:
        raise typer.BadParameter(f"{assignments} has no clip_id column", param_hint="--assignments")
    columns = [c for c in frame.columns if c != "clip_id"]
    try:
        for column in columns:
            parse_column(column)
        selector = BatchGreedySelector(
            n_select=size, ratio=ratio, pairing=pairing, batch_size=batch_size, top_k=top_k,
            strategy=strategy, estimator=estimator, exact=exact, seed=seed,
        )  # fmt: skip
        labels = frame.select(columns).to_numpy()
        with Progress(console=stderr, transient=True) as bar:
            task = bar.add_task("selecting", total=None)
            selector.fit(
                labels, columns,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )  # fmt: skip
    except (ValueError, TypeError) as error:
        raise typer.BadParameter(str(error), param_hint="--assignments") from None
    result = pl.DataFrame(
        {
            "clip_id": frame["clip_id"].gather(selector.order_),
            "rank": pl.Series(np.arange(len(selector.order_)), dtype=pl.Int64),
        }
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
    try:
        result.write_parquet(temp)
        os.replace(temp, out)
    finally:
        temp.unlink(missing_ok=True)
    print_summary(
        {
            "candidates": frame.height,
            "selected": len(selector.order_),
            "pairs": len(selector.pairs_),
            "objective": selector.objective_,
            "seconds": round(selector.seconds_, 3),
        }
    )


# --- evaluate command ---

# --- curate and demo commands ---


@contextlib.contextmanager
def _stage_bar() -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar over the stages of a long command, and its ``stage`` callback."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    columns = (BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress("[progress.description]{task.description}", *columns, console=stderr) as bar:
        task = bar.add_task("starting", total=None)

        def stage(label: str, done: int, total: int) -> None:
            bar.update(task, description=label, completed=done, total=total)

        yield stage


def _operational(run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run a pipeline command; a failure of the pipeline is a message and exit code 1."""
    import dagster as dg

    try:
        return run()
    except (dg.DagsterError, ValueError, OSError) as error:
        stderr.print(f"[red]failed:[/] {type(error).__name__}: {error}")
        raise typer.Exit(1) from None


def _check_search(k: str, strategy: str, estimator: str, pairing: str) -> None:
    """Refuse bad selection options before hours of ingestion, not after."""
    from acav_assets.core.selection import ESTIMATORS, PAIRINGS, STRATEGIES

    if k != "auto" and not (k.isdigit() and int(k) >= 2):
        raise typer.BadParameter(f"{k!r}: use 'auto' or a whole number >= 2", param_hint="--k")
    for value, allowed, hint in (
        (strategy, STRATEGIES, "--strategy"),
        (estimator, ESTIMATORS, "--estimator"),
        (pairing, PAIRINGS, "--pairing"),
    ):
        if value not in allowed:
            raise typer.BadParameter(f"{value!r}: use one of {list(allowed)}", param_hint=hint)


def _acav_home(home: str | None, roots: list[str]) -> Any:
    from acav_assets.defs.resources import AcavHome

    return AcavHome(root=resolve_home(home), media_roots=roots)


@app.command("curate")
def curate(
    sources: Annotated[
        list[str],
        typer.Argument(help="Manifests (CSV, TSV, Parquet, JSONL, TXT) or folders of videos."),
    ],
    out: Annotated[str, typer.Option(help="Folder for subset.csv, subset.parquet, report.html.")],
    ratio: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="Keep this share of all clips.")
    ] = None,
    size: Annotated[int | None, typer.Option(min=1, help="Keep this many clips.")] = None,
    home: HomeOption = None,
    shard_size: Annotated[int, typer.Option(min=1, help="Videos per shard.")] = 1000,
    shard_ratio: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share each shard selects before the merge.")
    ] = 0.2,
    allow_root: Annotated[
        list[str] | None,
        typer.Option(
            help="Folder local videos may be read from (repeatable); default: the sources' folders."
        ),  # fmt: skip
    ] = None,
    clip_strategy: Annotated[str, typer.Option(help="shots, middle or uniform.")] = "shots",
    min_duration: Annotated[
        float, typer.Option(min=0, help="Shorter videos are dropped (s).")
    ] = 30.0,
    k: Annotated[str, typer.Option(help="Clusters per clustering: 'auto' or a number.")] = "auto",
    strategy: Annotated[str, typer.Option(help="backward, forward or forward+swap.")] = "backward",
    estimator: Annotated[str, typer.Option(help="plugin, adjusted or miller_madow.")] = "plugin",
    pairing: Annotated[str, typer.Option(help="bipartite, combination or diagonal.")] = "bipartite",
    seed: Annotated[int, typer.Option(help="Seed of clustering and selection.")] = 0,
    webdataset: Annotated[bool, typer.Option(help="Also write WebDataset tar shards.")] = False,
) -> None:
    """Curate videos end to end through the Dagster asset graph: ingest, embed, cluster,
    select, merge, export and report."""
    from acav_assets.core.media import ManifestError, load_manifest
    from acav_assets.defs.local_run import CurationRequest

    if ratio is not None and size is not None:
        raise typer.BadParameter("give --ratio or --size, not both", param_hint="--ratio")
    _check_search(k, strategy, estimator, pairing)
    for source in sources:
        try:
            load_manifest(source)
        except ManifestError as error:
            raise typer.BadParameter(str(error), param_hint="SOURCES") from None
    request = CurationRequest(
        sources=sources, out_dir=out, size=size, ratio=ratio, shard_ratio=shard_ratio,
        shard_size=shard_size, allowed_roots=allow_root or _default_roots(sources),
        clip_strategy=clip_strategy, min_duration_s=min_duration, k=k, seed=seed,
        strategy=strategy, estimator=estimator, pairing=pairing, webdataset=webdataset,
    )  # fmt: skip
    from acav_assets.definitions import defs
    from acav_assets.defs.local_run import curate_in_process

    acav = _acav_home(home, list(request.allowed_roots))
    with _stage_bar() as stage:
        summary = _operational(lambda: curate_in_process(request, acav, defs, stage))
    print_summary(summary)


SeedsOption = Annotated[int, typer.Option(min=1, help="Seeds of clustering and selection.")]


def _evaluate(corpus: str, out: str, home: str | None, seeds: int, **options: Any) -> dict:
    from acav_assets.definitions import defs
    from acav_assets.defs.local_run import CurationRequest, evaluate_in_process

    corpus = os.path.abspath(corpus)
    request = CurationRequest(
        sources=[os.path.join(corpus, "manifest.csv")],
        out_dir=out,
        allowed_roots=[corpus],
        **options,
    )
    acav = _acav_home(home, [corpus])
    with _stage_bar() as stage:
        return _operational(
            lambda: evaluate_in_process(
                request, acav, defs, corpus, seeds=range(seeds), stage=stage
            )
        )


def _headline(summary: dict[str, Any]) -> str:
    precision = summary["precision"]
    lifts = ", ".join(
        f"{name} {value:.3f} ({precision['acav'] - value:+.3f})"
        for name, value in precision.items()
        if name != "acav"
    )
    return (
        f"acav precision {precision['acav']:.3f} +/- {summary['precision_std']['acav']:.3f} "
        f"at the true-set size {summary['true_set_size']} of {summary['candidates']} clips; "
        f"baselines (acav's lead): {lifts}"
    )


@app.command("evaluate")
def evaluate(
    corpus: Annotated[str, typer.Option(help="A corpus with manifest.csv and truth.csv.")],
    out: Annotated[
        str | None, typer.Option(help="Output folder (default: CORPUS/../evaluation).")
    ] = None,
    home: HomeOption = None,
    seeds: SeedsOption = 5,
    k: Annotated[str, typer.Option(help="Clusters per clustering: 'auto' or a number.")] = "auto",
    strategy: Annotated[str, typer.Option(help="backward, forward or forward+swap.")] = "backward",
    estimator: Annotated[str, typer.Option(help="plugin, adjusted or miller_madow.")] = "plugin",
    pairing: Annotated[str, typer.Option(help="bipartite, combination or diagonal.")] = "bipartite",
    clip_strategy: Annotated[str, typer.Option(help="shots, middle or uniform.")] = "shots",
) -> None:
    """Curate a corpus with known audio-visual correspondence to the size of its true set and
    score acav against random, CCA ranking and contrastive baselines over several seeds."""
    if not os.path.isfile(os.path.join(corpus, "truth.csv")):
        raise typer.BadParameter(f"{corpus!r} has no truth.csv", param_hint="--corpus")
    _check_search(k, strategy, estimator, pairing)
    out = out or os.path.join(os.path.dirname(os.path.abspath(corpus)), "evaluation")
    summary = _evaluate(corpus, out, home, seeds, k=k, strategy=strategy, estimator=estimator,
                        pairing=pairing, clip_strategy=clip_strategy)  # fmt: skip
    stderr.print(_headline(summary))
    print_summary(summary)


@app.command("demo")
def demo(
    out: Annotated[
        str, typer.Option(help="Folder for the corpus, the export and the report.")
    ] = "demo",
    videos: Annotated[int, typer.Option(min=20, help="Videos in the generated corpus.")] = 120,
    seeds: SeedsOption = 5,
    home: HomeOption = None,
) -> None:
    """The whole product on a generated corpus: render videos with known audio-visual
    correspondence (half with swapped sound), curate them through the Dagster graph,
    evaluate against the baselines, and write report.html."""
    from acav_assets.core.evaluation import generate_corpus

    corpus = os.path.join(os.path.abspath(out), "corpus")
    if not os.path.isfile(os.path.join(corpus, "truth.csv")):
        with _stage_bar() as stage:
            generate_corpus(
                corpus,
                n_videos=videos,
                progress=lambda done, total: stage("rendering the demo corpus", done, total),
            )
    summary = _evaluate(corpus, out, home, seeds)
    stderr.print(f"report: {summary['report']}")
    stderr.print(f"export: {os.path.join(summary['out'], 'subset.csv')}")
    stderr.print(_headline(summary))
    print_summary(summary)


def main() -> None:
    app()
