"""Selection: the clips whose audio and visual clusterings share the most information."""

from acav_assets.core.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "assignments": [
            "Assignments",
            "read_assignments",
        ],
        "greedy": [
            "BatchGreedySelector",
        ],
        "strategies": [
            "STRATEGIES",
            "Strategy",
        ],
        "information": [
            "contingency",
            "mutual_info",
            "objective",
            "table_mutual_info",
        ],
        "options": [
            "SelectionOptions",
        ],
        "pairing": [
            "ESTIMATORS",
            "PAIRINGS",
            "parse_column",
            "resolve_pairs",
        ],
        "picking": [
            "SelectionOutcome",
            "load_merged_selection",
            "save_merged_selection",
            "select_clips",
        ],
        "sharded": [
            "merge_candidates",
            "merge_shard_winners",
            "merge_target",
            "shard_ratio_for",
        ],
        "state": [
            "SelectionState",
        ],
    },
)
