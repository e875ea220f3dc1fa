"""Jobs of the export domain: publishing the curated set."""

import dagster as dg

from acav_assets.defs.evaluation.assets import curation_report
from acav_assets.defs.export.assets import curated_export
from acav_assets.defs.selection.assets import curated_subset

publish_job = dg.define_asset_job(
    "publish_curated_set",
    selection=dg.AssetSelection.assets(curated_subset, curated_export, curation_report)
    | dg.AssetSelection.groups("catalog"),
    description="Merge the shard selections, export the curated set, refresh the catalog "
    "models and the report.",
)
