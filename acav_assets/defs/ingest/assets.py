"""``videos`` and ``clips`` of a shard: one step writes both tables, each its own asset."""

import os
from collections.abc import Iterator

import dagster as dg

from acav_assets.core.media.ingest import IngestOptions, ingest_shard
from acav_assets.defs.execution import k8s_op_tags
from acav_assets.defs.markdown import markdown_table
from acav_assets.defs.partitions import SHARD_BACKFILL, shard_partitions
from acav_assets.defs.progress import log_progress
from acav_assets.defs.resources import AcavHome

INGEST_CODE_VERSION = "1"


class IngestConfig(dg.Config):
    """How a shard is ingested (defaults: ACAV100M's filters, shot-centred clips)."""

    allowed_roots: list[str] = []
    clip_strategy: str = "shots"
    clips_per_video: int = 3
    min_duration_s: float = 30.0
    max_duration_s: float = 597.0
    min_height: int | None = None
    max_height: int = 360
    concurrent_downloads: int = 4
    retries: int = 3
    socket_timeout: float = 30.0
    rate_limit: int | None = None
    proxy: str | None = None
    max_failed_share: float = 0.5

    def options(self, acav: AcavHome) -> IngestOptions:
        """The core options: these fields under the same names, the allowed roots (else the
        resource's), and the cookies file the cluster mounts."""
        fields = self.model_dump(exclude={"allowed_roots", "max_failed_share"})
        return IngestOptions(
            **fields,
            allowed_roots=tuple(self.allowed_roots or acav.allowed_roots()),
            cookies_file=_mounted_cookies(),
        )


def _mounted_cookies() -> str | None:
    """``$ACAV_YTDLP_COOKIES`` if that file exists: its Secret is optional on the cluster."""
    path = os.environ.get("ACAV_YTDLP_COOKIES")
    return path if path and os.path.isfile(path) else None


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "videos",
            group_name="ingest",
            description="Each video of the shard: fetched or located, probed, filtered, "
            "deduplicated; failures kept with their reason.",
            code_version=INGEST_CODE_VERSION,
            kinds={"parquet", "ffmpeg"},
        ),
        dg.AssetSpec(
            "clips",
            deps=["videos"],
            group_name="ingest",
            description="Up to 3 ten-second windows per kept video (shots by default).",
            code_version=INGEST_CODE_VERSION,
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
)
def ingested_shard(
    context: dg.AssetExecutionContext, acav: AcavHome, config: IngestConfig
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    stats = ingest_shard(
        acav.storage(),
        acav.tables(),
        context.partition_key,
        config.options(acav),
        run_id=context.run_id,
        code_version=INGEST_CODE_VERSION,
        progress=log_progress(context, "videos"),
    )
    reasons = dict(stats.reasons)
    yield dg.MaterializeResult(
        asset_key="videos",
        metadata={
            **{k: v for k, v in stats.as_metadata().items() if k not in reasons},
            "failure_reasons": dg.MetadataValue.md(
                markdown_table(["reason", "videos"], sorted(reasons.items()))
            ),
        },
    )
    yield dg.MaterializeResult(asset_key="clips", metadata={"clips": stats.clips})
    share = stats.failed / max(stats.total, 1)
    yield dg.AssetCheckResult(
        asset_key="videos",
        check_name="failed_share_below_limit",
        passed=share <= config.max_failed_share,
        metadata={"failed_share": share, "limit": config.max_failed_share},
    )
