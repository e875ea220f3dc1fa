"""Jobs of the clustering domain: a (re-)training of the clusterings."""

import dagster as dg

from acav_assets.defs.clustering.assets import clusterings

clustering_job = dg.define_asset_job(
    "train_clusterings",
    selection=dg.AssetSelection.assets(clusterings),
    description="(Re-)train the clusterings: a new version that makes the assignments stale.",
)
