"""Jobs of the media domain: registering manifests, and a shard from its videos to its
embeddings (the unit of work of a backfill, one run per shard)."""

import dagster as dg

from acav_assets.defs.execution import run_tags
from acav_assets.defs.features.assets import embedded_shard
from acav_assets.defs.media.assets import ingested_shard, sources
from acav_assets.defs.partitions import shard_partitions

register_job = dg.define_asset_job(
    "register_sources",
    selection=dg.AssetSelection.assets(sources),
    description="Register manifests: split each into shards of table sources and add a "
    "dynamic partition per shard.",
)
shard_job = dg.define_asset_job(
    "ingest_and_embed_shard",
    selection=dg.AssetSelection.assets(ingested_shard, embedded_shard),
    partitions_def=shard_partitions,
    description="Fetch, probe, filter and clip a shard's videos, then embed its clips.",
    tags=run_tags(downloads=True, gpu=True),
)
