"""Jobs of the evaluation domain: the controlled test of a corpus with known truth."""

import dagster as dg

from acav_assets.defs.evaluation.assets import evaluation

evaluation_job = dg.define_asset_job(
    "evaluate_corpus",
    selection=dg.AssetSelection.assets(evaluation),
    description="Score acav and the baselines on a corpus whose truth.csv says which videos "
    "correspond.",
)
