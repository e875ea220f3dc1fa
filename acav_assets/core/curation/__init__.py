"""The curation steps that join the engines to the stored data: train and apply the
clusterings, select shards and merge them, and export the curated set."""

from acav_assets.core.curation.checks import embedding_defects
from acav_assets.core.curation.clusterings import (
    ClusteringSet,
    EmbeddingSource,
    embedding_sources,
)
from acav_assets.core.curation.export import ExportResult, export_subset
from acav_assets.core.curation.picking import SelectionOutcome, select_clips

__all__ = [
    "ClusteringSet",
    "EmbeddingSource",
    "ExportResult",
    "SelectionOutcome",
    "embedding_defects",
    "embedding_sources",
    "export_subset",
    "select_clips",
]
