"""The media domain: registered sources, and each shard's videos and clips."""

import dagster as dg

from acav_assets.defs.media import assets, jobs, schedules, sensors

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([assets]),
    asset_checks=dg.load_asset_checks_from_modules([assets]),
    jobs=[jobs.register_job, jobs.shard_job],
    sensors=[sensors.new_manifest_sensor],
    schedules=[schedules.retry_deferred_schedule],
)
