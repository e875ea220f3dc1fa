"""Jobs of the selection domain: a shard labelled and selected under the current clusterings,
and a merge group of shard winners merged."""

import dagster as dg

from acav_assets.defs.clustering.assets import cluster_assignments
from acav_assets.defs.partitions import shard_partitions
from acav_assets.defs.selection.assets import group_selection, shard_selection

assign_job = dg.define_asset_job(
    "assign_and_select_shard",
    selection=dg.AssetSelection.assets(cluster_assignments, shard_selection),
    partitions_def=shard_partitions,
    description="Label a shard's clips with the current clusterings and select within it.",
)
merge_group_job = dg.define_asset_job(
    "merge_group_winners",
    selection=dg.AssetSelection.assets(group_selection),
    description="Merge the new shard winners of one merge group (the first level of GreeDi).",
)
