"""The export domain: the curated set published, and the schedule that re-publishes it."""

import dagster as dg

from acav_assets.defs.export import assets, jobs, schedules

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([assets]),
    asset_checks=dg.load_asset_checks_from_modules([assets]),
    jobs=[jobs.publish_job],
    schedules=[schedules.publish_schedule],
)
