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
        "curated": [
            "CURATED_TABLE",
            "CuratedRecord",
            "CuratedSet",
            "Extension",
            "GroupWinners",
            "load_merged_selection",
            "read_curated_subset",
        ],
        "picking": [
            "SelectionOutcome",
            "select_clips",
        ],
        "sharded": [
            "CLIP_SCORES_SHARD",
            "CLIP_SCORES_TABLE",
            "ESTIMATE_COLUMNS",
            "WINNERS_TABLE",
            "auto_target",
            "clip_scores",
            "group_key",
            "group_members",
            "group_shards_of",
            "group_target",
            "select_shard",
            "merge_candidates",
            "merge_shard_winners",
            "merge_target",
            "read_winners",
            "shard_ratio_for",
            "winner_frame",
        ],
        "size": [
            "SizeEstimate",
            "contributions",
            "estimate_share",
        ],
        "state": [
            "SelectionState",
        ],
    },
)
