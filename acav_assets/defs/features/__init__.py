"""The features domain: each shard's audio and visual embeddings."""

import dagster as dg

from acav_assets.defs.features import assets

defs = dg.Definitions(
    assets=dg.load_assets_from_modules([assets]),
    asset_checks=dg.load_asset_checks_from_modules([assets]),
)
