"""The evaluation domain: the controlled correspondence test and the curation report."""

import dagster as dg

from acav_assets.defs.evaluation import assets, jobs

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([assets]),
    jobs=[jobs.evaluation_job],
)
