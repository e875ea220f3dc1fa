"""The code location: every domain's definitions, merged."""

import dagster as dg

from acav_assets.defs import clustering, evaluation, export, features, media, selection
from acav_assets.defs.catalog.sql_models import build_sql_model_defs
from acav_assets.defs.execution import build_executor
from acav_assets.defs.resources import acav_home

defs = dg.Definitions.merge(
    media.defs,
    features.defs,
    clustering.defs,
    selection.defs,
    export.defs,
    evaluation.defs,
    build_sql_model_defs(),
    dg.Definitions(resources={"acav": acav_home()}, executor=build_executor()),
)
