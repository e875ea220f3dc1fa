"""``acav ingest``: register manifests and run each shard's ingest (videos and clips) through
the shard job, as the sensor does."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import replace
from typing import Annotated

from acav_assets.cli.app import app
from acav_assets.cli.common import HomeOption, operational, opt, print_summary, stage_bar, stderr
from acav_assets.cli.pipeline import (
    AllowRootOption,
    ClipStrategyOption,
    MinDurationOption,
    ShardSizeOption,
    SitesOption,
    SourcesArgument,
    checked,
    checked_manifests,
    default_roots,
    download_stack,
    materialized,
    read_sites,
    runner,
    shard_prefixes,
)
from acav_assets.core.media.options import DownloadSettings as Download
from acav_assets.core.media.options import IngestOptions as Ingest


@app.command("ingest")
def ingest(
    manifests: SourcesArgument,
    home: HomeOption = None,
    shard_size: ShardSizeOption = Ingest.shard_size,
    allow_root: AllowRootOption = None,
    clip_strategy: ClipStrategyOption = Ingest.clip_strategy,
    clips_per_video: Annotated[int, opt(Ingest, "clips_per_video", min=1)] = Ingest.clips_per_video,
    clip_seconds: Annotated[float, opt(Ingest, "clip_seconds", min=0.1)] = Ingest.clip_seconds,
    min_duration: MinDurationOption = Ingest.min_duration_s,
    max_duration: Annotated[
        float, opt(Ingest, "max_duration_s", "--max-duration", min=0)
    ] = Ingest.max_duration_s,
    min_height: Annotated[int | None, opt(Ingest, "min_height", min=1)] = Ingest.min_height,
    max_height: Annotated[int, opt(Download, "max_height", min=1)] = Download.max_height,
    concurrent_downloads: Annotated[
        int, opt(Ingest, "concurrent_downloads", min=1)
    ] = Ingest.concurrent_downloads,
    retries: Annotated[int, opt(Download, "retries", min=0)] = Download.retries,
    socket_timeout: Annotated[
        float, opt(Download, "socket_timeout", min=0.1)
    ] = Download.socket_timeout,
    rate_limit: Annotated[int | None, opt(Download, "rate_limit", min=1)] = Download.rate_limit,
    cookies: Annotated[
        str | None, opt(Download, "cookies_file", "--cookies")
    ] = Download.cookies_file,
    proxy: Annotated[str | None, opt(Download, "proxy")] = Download.proxy,
    sites: SitesOption = None,
) -> None:
    """Register manifests and ingest all their shards: download, probe, filter, clip."""
    from rich.markup import escape

    from acav_assets.core.media import IngestOptions
    from acav_assets.core.media.options import DownloadSettings
    from acav_assets.defs.local import Curation, ingest_shards, register_sources
    from acav_assets.defs.media.assets import ingested_shard

    roots = allow_root or default_roots(manifests)
    if proxy:
        # As the code location's environment, not run config: the local instance keeps run
        # config, and the UI of `dagster dev` would show the proxy's credentials.
        os.environ["ACAV_PROXY_URL"] = proxy
    download = DownloadSettings(
        max_height=max_height, retries=retries, socket_timeout=socket_timeout,
        rate_limit=rate_limit, cookies_file=cookies, sites=read_sites(sites),
    )  # fmt: skip
    options = IngestOptions(
        shard_size=shard_size, allowed_roots=tuple(roots), clip_strategy=clip_strategy,
        clips_per_video=clips_per_video, clip_seconds=clip_seconds, min_duration_s=min_duration,
        max_duration_s=max_duration, min_height=min_height,
        concurrent_downloads=concurrent_downloads, download=download,
    )  # fmt: skip
    checked(options.validate)
    loaded = checked_manifests(manifests)
    prefixes = shard_prefixes(loaded)
    downloads = any(m.n_urls for m in loaded)
    if downloads and not (stack := download_stack(home, replace(download, proxy=proxy))).ok:
        problems = escape("; ".join(stack.problems))
        stderr.print(f"[yellow]warning:[/] download stack degraded (acav doctor): {problems}")
    curation = Curation(sources=tuple(manifests), ingest=options)
    with stage_bar() as stage:
        run = runner(home, roots, stage)

        def ingest_all() -> tuple[list[str], list]:
            shards = register_sources(run, curation, prefixes)
            return shards, ingest_shards(run, curation, shards, assets=ingested_shard.keys)

        shards, results = operational(ingest_all)
    totals: Counter = Counter()
    stopped: dict[str, list[str]] = {}
    for shard, metadata in zip(shards, materialized(results, "videos"), strict=True):
        totals.update({k: v for k, v in metadata.items() if isinstance(v, int | float)})
        if metadata.get("breaker_open"):
            stopped[shard] = metadata["breaker_open"].split(",")
            stderr.print(
                f"[yellow]warning:[/] {shard}: stopped asking {metadata['breaker_open']} (bot "
                f"checks or rate limits); {metadata['deferred']} videos deferred to a later run"
            )
    print_summary(
        {
            "shards": shards,
            **dict(sorted(totals.items())),
            **({"breaker_open": stopped} if stopped else {}),
        }
    )
