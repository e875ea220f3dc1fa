"""Evaluation: the controlled correspondence test (corpus, metrics, baselines, the harness over
stored embeddings) and the curation report."""

from acav_assets.core.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "baselines": [
            "CCARanking",
            "ContrastiveRanking",
            "PCARanking",
            "cosine_scores",
            "order_by_score",
            "random_order",
            "random_selection",
            "stack_layers",
        ],
        "corpus": [
            "CorpusInfo",
            "clip_rows",
            "clip_truth",
            "generate_corpus",
            "load_truth",
        ],
        "options": [
            "EvaluationOptions",
        ],
        "metrics": [
            "SelectionScores",
            "mean_and_spread",
            "best_pairing_order",
            "precision_at_sizes",
            "selection_scores",
        ],
        "correspondence": [
            "evaluate_correspondence",
        ],
    },
)
