"""The code location: every domain's definitions, merged."""

import dagster as dg

from acav_assets.defs import automation
from acav_assets.defs.catalog.sql_models import build_sql_model_defs
from acav_assets.defs.curation import assets as curation
from acav_assets.defs.execution import build_executor
from acav_assets.defs.export import assets as export
from acav_assets.defs.export import report
from acav_assets.defs.features import assets as features
from acav_assets.defs.ingest import assets as ingest
from acav_assets.defs.resources import acav_home_from_env

defs = dg.Definitions.merge(
    dg.Definitions(
        assets=dg.load_assets_from_modules([ingest, features, curation, export, report]),
        asset_checks=dg.load_asset_checks_from_modules([ingest, features, curation, export]),
    ),
    build_sql_model_defs(),
    automation.defs,
    dg.Definitions(resources={"acav": acav_home_from_env()}, executor=build_executor()),
)
