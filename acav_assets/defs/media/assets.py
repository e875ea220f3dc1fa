"""``sources`` (registered manifests, one dynamic partition per shard), and ``videos`` and
``clips`` of a shard (one step writes both tables, each its own asset)."""

import os
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import dagster as dg
import pydantic

from acav_assets.core.media import (
    SOURCES_TABLE,
    IngestOptions,
    check_download_stack,
    ingest_shard,
    proxy_in_use,
)
from acav_assets.core.media.sites import YOUTUBE
from acav_assets.core.media.sources import dropped_manifests, register_manifests
from acav_assets.core.options import help_of
from acav_assets.core.redaction import redact
from acav_assets.defs.config import config_class, to_options
from acav_assets.defs.execution import k8s_op_tags
from acav_assets.defs.markdown import markdown_table
from acav_assets.defs.partitions import SHARD_BACKFILL, shard_partitions
from acav_assets.defs.progress import log_progress
from acav_assets.defs.resources import AcavHome
from acav_assets.defs.retries import NETWORK_RETRY, not_retried

MEDIA_CODE_VERSION = "1"

SourcesConfig = config_class(
    IngestOptions,
    name="SourcesConfig",
    only={"shard_size"},
    extra={
        "manifests": (
            list[str],
            pydantic.Field(
                default=[], description="Manifests to register; none: every file in sources/."
            ),
        )
    },
)
IngestConfig = config_class(IngestOptions, name="IngestConfig", exclude={"shard_size"})


@dg.asset(
    group_name="media",
    description="Registered manifests, each split into shards of table sources (at most "
    f"{help_of(IngestOptions, 'shard_size').lower().rstrip('.')}).",
    code_version=MEDIA_CODE_VERSION,
    kinds={"parquet"},
    op_tags=k8s_op_tags(cpu="1", memory="4Gi"),
)
def sources(
    context: dg.AssetExecutionContext, acav: AcavHome, config: SourcesConfig
) -> dg.MaterializeResult:
    root = acav.storage()
    paths = list(config.manifests) or dropped_manifests(root)
    registered = register_manifests(paths, acav.tables(), config.shard_size)
    keys = [key for r in registered for key in r.shards]
    refused = [r for r in registered if r.error is not None]
    if paths and len(refused) == len(paths):
        raise ValueError("; ".join(r.error for r in refused))
    context.instance.add_dynamic_partitions(shard_partitions.name, keys)
    for registration in refused:
        context.log.warning(f"refused manifest: {redact(registration.error)}")
    rows = [(r.manifest, len(r.shards), r.error or "") for r in registered]
    return dg.MaterializeResult(
        metadata={
            "manifests": len(registered),
            "refused": len(refused),
            "shards": len(keys),
            "registered": dg.MetadataValue.md(
                markdown_table(["manifest", "shards", "error"], rows)
            ),
        },
        # Shard keys hold the manifest's content hash: registering never changes the rows of
        # an existing shard, so a new manifest leaves the shards already ingested current.
        data_version=dg.DataVersion("content-addressed"),
    )


def _download_stack(
    context: dg.AssetExecutionContext, acav: AcavHome, options: IngestOptions
) -> dict[str, Any]:
    """The download-stack facts (``acav doctor``) for this shard's settings, as metadata, and
    a warning in the run log when YouTube downloads would fail or degrade; nothing to check
    for a shard of local files."""
    sources = acav.tables().read(SOURCES_TABLE, [context.partition_key])
    if not sources["url"].is_not_null().any():
        return {"download_stack": "not checked: the shard downloads nothing"}
    download = options.download
    stack = check_download_stack(
        storage=acav.storage(),
        cookies_file=download.cookies_file,
        proxy=proxy_in_use(download.proxy, urllib.request.getproxies()),
        youtube=download.site_options(YOUTUBE),
    )
    if not stack.ok:
        context.log.warning("download stack degraded: " + "; ".join(stack.problems))
    return {
        "download_stack_ok": stack.ok,
        "download_stack": dg.MetadataValue.md(
            markdown_table(["part", "state"], stack.as_dict().items())
        ),
    }


def checked_ingest_options(config: dg.Config, acav: AcavHome) -> IngestOptions:
    """The core options of a run, checked before any download: its config, with the
    resource's allowed roots, cookies file (only if it exists: the cluster mounts it from an
    optional Secret) and proxy where the config names none, and the deployment's network
    reach, which a run config cannot loosen. A proxy with credentials in the run config is
    refused: the UI shows run config to everyone."""
    options = to_options(config, IngestOptions)
    download = options.download
    if download.proxy and redact(download.proxy) != download.proxy:
        raise dg.Failure(
            "the run config's proxy carries credentials, which the UI would show: set "
            "ACAV_PROXY_URL in the code location's environment instead"
        )
    mounted = acav.ytdlp_cookies
    if download.cookies_file is None and mounted and os.path.isfile(mounted):
        download = replace(download, cookies_file=mounted)
    if download.proxy is None and acav.proxy_url:
        download = replace(download, proxy=acav.proxy_url)
    if acav.refuses_private_addresses():
        download = replace(download, refuse_private_addresses=True)
    roots = options.allowed_roots or tuple(acav.allowed_roots())
    return replace(options, allowed_roots=roots, download=download).validate()


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "videos",
            deps=["sources"],
            group_name="media",
            description="Each video of the shard: fetched or located, probed, filtered, "
            "deduplicated; failures kept with their reason.",
            code_version=MEDIA_CODE_VERSION,
            kinds={"parquet", "ffmpeg"},
        ),
        dg.AssetSpec(
            "clips",
            deps=["videos"],
            group_name="media",
            description="Up to 3 ten-second windows per kept video (shots by default).",
            code_version=MEDIA_CODE_VERSION,
            kinds={"parquet"},
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "failed_share_below_limit",
            asset="videos",
            blocking=True,
            description="The share of failed videos stays under the configured limit.",
        )
    ],
    partitions_def=shard_partitions,
    backfill_policy=SHARD_BACKFILL,
    op_tags=k8s_op_tags(cpu="2", memory="4Gi", ephemeral_storage="50Gi"),
    pool="downloads",
    retry_policy=NETWORK_RETRY,
)
def ingested_shard(
    context: dg.AssetExecutionContext, acav: AcavHome, config: IngestConfig
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    with not_retried(ValueError):
        options = checked_ingest_options(config, acav)
    stack_facts = _download_stack(context, acav, options)
    stats = ingest_shard(
        acav.storage(),
        acav.tables(),
        context.partition_key,
        options,
        run_id=context.run.run_id,
        code_version=MEDIA_CODE_VERSION,
        progress=log_progress(context, "videos"),
    )
    if stats.breaker_open:
        context.log.warning(
            f"stopped asking {stats.breaker_open} (bot checks or rate limits): "
            f"{stats.deferred} videos deferred; retry_deferred_schedule runs them again"
        )
    reasons = dict(stats.reasons)
    yield dg.MaterializeResult(
        asset_key="videos",
        metadata={
            **{k: v for k, v in stats.as_metadata().items() if k not in reasons},
            "failure_reasons": dg.MetadataValue.md(
                markdown_table(["reason", "videos"], sorted(reasons.items()))
            ),
            **stack_facts,
        },
    )
    yield dg.MaterializeResult(asset_key="clips", metadata={"clips": stats.clips})
    share = stats.failed / max(stats.total, 1)
    yield dg.AssetCheckResult(
        asset_key="videos",
        check_name="failed_share_below_limit",
        passed=share <= options.max_failed_share,
        metadata={"failed_share": share, "limit": options.max_failed_share},
    )
