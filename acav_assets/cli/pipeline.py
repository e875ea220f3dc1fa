"""What the pipeline commands share: their options (defaults and help from the core
options), starting a local runner, registering the sources, and the summary of a run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from acav_assets.cli.common import acav, bad_option, opt, resolved
from acav_assets.core.clustering.options import ClusteringOptions as Cluster
from acav_assets.core.evaluation.options import EvaluationOptions
from acav_assets.core.media.options import IngestOptions as Ingest
from acav_assets.core.options import OptionError
from acav_assets.core.selection.options import SelectionOptions as Select

SourcesArgument = Annotated[
    list[str],
    typer.Argument(help="Manifests (CSV, TSV, Parquet, JSONL, TXT) or folders of videos."),
]
AllowRootOption = Annotated[
    list[str] | None,
    typer.Option(
        help="Folder local videos may be read from (repeatable); default: the sources' folders."
    ),
]
ShardSizeOption = Annotated[int, opt(Ingest, "shard_size", min=1)]
ClipStrategyOption = Annotated[str, opt(Ingest, "clip_strategy")]
MinDurationOption = Annotated[float, opt(Ingest, "min_duration_s", "--min-duration", min=0)]
KOption = Annotated[str, opt(Cluster, "k")]
StrategyOption = Annotated[str, opt(Select, "strategy")]
EstimatorOption = Annotated[str, opt(Select, "estimator")]
PairingOption = Annotated[str, opt(Select, "pairing")]
SeedsOption = Annotated[int, opt(EvaluationOptions, "seeds", min=1)]
SizeOption = Annotated[
    str | None,
    opt(Select, "size", help_suffix=" A number, or 'auto': estimate how many clips correspond."),
]


def parse_size(size: str | None) -> dict[str, Any]:
    """``--size`` as the selection options take it: ``size`` or ``auto_size``."""
    if size is None:
        return {}
    if size == "auto":
        return {"auto_size": True}
    if not size.isdigit() or int(size) < 1:
        raise typer.BadParameter(
            f"{size!r}: give a whole number >= 1 or 'auto'", param_hint="--size"
        )
    return {"size": int(size)}


def default_roots(sources: list[str]) -> list[str]:
    """Folders local videos may be read from: the sources' own folders."""
    return sorted(
        {os.path.abspath(s if os.path.isdir(s) else os.path.dirname(os.path.abspath(s)))
         for s in sources}
    )  # fmt: skip


def checked_manifests(sources: list[str]) -> list:
    """Every manifest, read through once and checked before any work (its hash and counts
    known, its rows not kept): a bad one is exit code 2, nothing written."""
    from acav_assets.core.media import ManifestError, ManifestReader

    readers = [ManifestReader(source) for source in sources]
    try:
        for reader in readers:
            for _ in reader.batches():
                pass
    except ManifestError as error:
        raise typer.BadParameter(str(error), param_hint="SOURCES") from None
    return readers


def shard_prefixes(manifests: list) -> list[str]:
    """The prefix of each manifest's shard keys."""
    from acav_assets.core.media.sources import shard_prefix

    return [shard_prefix(m.source, m.sha256) for m in manifests]


def checked(check: Any) -> Any:
    """Run a core validation; its ``OptionError`` becomes the option's usage error."""
    try:
        return check()
    except OptionError as error:
        raise bad_option(error) from None
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


def runner(home: str | None, roots: list[str], stage):
    """A runner of the code location's jobs on the local instance beside the data."""
    from acav_assets.definitions import defs
    from acav_assets.defs.local import LocalRunner, local_instance

    resource = acav(home, roots)
    instance = local_instance(resolved(resource), os.environ.get("DAGSTER_HOME"))
    return LocalRunner(defs, resource, instance, stage)


def materialized(results, asset: str) -> list[dict[str, Any]]:
    """The metadata values of every materialization of ``asset`` in ``results``."""
    events = [
        event.step_materialization_data.materialization
        for result in results
        for event in result.get_asset_materialization_events()
    ]
    return [
        {name: value.value for name, value in event.metadata.items()}
        for event in events
        if event.asset_key.to_user_string() == asset
    ]


SitesOption = Annotated[
    Path | None,
    typer.Option(
        "--sites",
        exists=True,
        dir_okay=False,
        help="YAML or JSON file of per-site yt-dlp settings: {site: {extractor_args, "
        "sleep_requests, sleep_interval, max_sleep_interval, js_runtime, js_runtime_path, "
        "trip_after}}; a site is 'youtube' or a host name.",
    ),
]


def read_sites(path: Path | None) -> dict[str, dict[str, Any]]:
    """The per-site settings of ``--sites``, checked now: a bad key is a usage error."""
    import yaml

    from acav_assets.core.media import parse_sites

    if path is None:
        return {}
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        parse_sites(raw)
    except (ValueError, yaml.YAMLError, UnicodeDecodeError) as error:
        raise typer.BadParameter(f"{path}: {error}", param_hint="--sites") from None
    return raw


def download_stack(home: str | None, download):
    """What ``acav doctor`` reports for these download settings and this storage root."""
    import urllib.request

    from acav_assets.core.media import check_download_stack, proxy_in_use
    from acav_assets.core.media.sites import YOUTUBE

    return check_download_stack(
        storage=resolved(acav(home)).storage(),
        cookies_file=download.cookies_file,
        proxy=proxy_in_use(download.proxy, urllib.request.getproxies()),
        youtube=download.site_options(YOUTUBE),
    )
