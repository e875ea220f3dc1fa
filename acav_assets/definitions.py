"""The code location: every domain's definitions, merged."""

import dagster as dg

from acav_assets.defs.catalog.sql_models import build_sql_model_defs
from acav_assets.defs.resources import acav_home_from_env

defs = dg.Definitions.merge(
    build_sql_model_defs(),
    dg.Definitions(resources={"acav": acav_home_from_env()}),
)
