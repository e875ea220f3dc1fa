"""Selection: the clips whose audio and visual clusterings share the most information."""

from acav_assets.core.selection.greedy import STRATEGIES, BatchGreedySelector
from acav_assets.core.selection.mutual_info import (
    contingency,
    mutual_info,
    objective,
    table_mutual_info,
)
from acav_assets.core.selection.pairing import ESTIMATORS, PAIRINGS, parse_column, resolve_pairs
from acav_assets.core.selection.sharded import MergedSelection, merge_selections, select_shards
from acav_assets.core.selection.state import SelectionState

__all__ = [
    "ESTIMATORS",
    "PAIRINGS",
    "STRATEGIES",
    "BatchGreedySelector",
    "MergedSelection",
    "SelectionState",
    "contingency",
    "merge_selections",
    "mutual_info",
    "objective",
    "parse_column",
    "resolve_pairs",
    "select_shards",
    "table_mutual_info",
]
