"""The selection domain: each shard's selection and the merged curated subset."""

import dagster as dg

from acav_assets.defs.selection import assets, jobs, sensors

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([assets]),
    asset_checks=dg.load_asset_checks_from_modules([assets]),
    jobs=[jobs.assign_job],
    sensors=[sensors.curation_sensor],
)
