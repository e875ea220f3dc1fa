"""The clustering domain: the versioned clusterings and each shard's assignments."""

import dagster as dg

from acav_assets.defs.clustering import assets, jobs

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([assets]),
    asset_checks=dg.load_asset_checks_from_modules([assets]),
    jobs=[jobs.clustering_job],
)
