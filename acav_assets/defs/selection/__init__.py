"""The selection domain: each shard's selection, the merge groups and the curated set."""

import dagster as dg

from acav_assets.defs.selection import assets, jobs, schedules, sensors

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([assets]),
    asset_checks=dg.load_asset_checks_from_modules([assets]),
    jobs=[jobs.assign_job, jobs.merge_group_job],
    sensors=[sensors.curation_sensor],
    schedules=[schedules.merge_schedule],
)
