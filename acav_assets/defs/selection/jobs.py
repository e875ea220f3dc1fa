"""Jobs of the selection domain: a shard labelled and selected under the current clusterings."""

import dagster as dg

from acav_assets.defs.clustering.assets import cluster_assignments
from acav_assets.defs.partitions import shard_partitions
from acav_assets.defs.selection.assets import shard_selection

assign_job = dg.define_asset_job(
    "assign_and_select_shard",
    selection=dg.AssetSelection.assets(cluster_assignments, shard_selection),
    partitions_def=shard_partitions,
    description="Label a shard's clips with the current clusterings and select within it.",
)
