"""How a corpus with known audio-visual correspondence is evaluated."""

from __future__ import annotations

from dataclasses import dataclass

from acav_assets.core.clustering.options import ClusteringOptions
from acav_assets.core.options import nested, option
from acav_assets.core.selection.options import SelectionOptions


@dataclass(frozen=True)
class EvaluationOptions:
    """The controlled test of a corpus: its truth, the seeds, and the settings under test
    (the same clustering and selection settings as the curation's)."""

    corpus: str = option("", "A corpus folder with truth.csv (which videos correspond).")
    seeds: int = option(5, "Seeds of clustering and selection: scores are means over them.")
    clustering: ClusteringOptions = nested(ClusteringOptions, "Clustering under test.")
    selection: SelectionOptions = nested(SelectionOptions, "Selection under test.")
