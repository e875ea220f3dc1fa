"""How clips are selected: the search, its batch trick, and the shard and global targets."""

from __future__ import annotations

from dataclasses import dataclass

from acav_assets.core.options import OptionError, check_choice, option
from acav_assets.core.selection.pairing import ESTIMATORS, PAIRINGS
from acav_assets.core.selection.strategies import STRATEGIES


@dataclass(frozen=True)
class SelectionOptions:
    """The selection domain's settings; the engine's defaults are these."""

    pairing: str = option(
        "bipartite",
        "Paired clusterings: bipartite (every audio x visual), combination (every pair) "
        "or diagonal (same layer).",
    )
    estimator: str = option("plugin", "MI estimator: plugin, miller_madow or adjusted.")
    strategy: str = option("ensemble", "Search: " + ", ".join(STRATEGIES) + ".")
    batch_size: int = option(20, "Clips drawn per greedy step (B, forward search).")
    top_k: int = option(4, "Best drawn clips kept per step (k, forward search).")
    seed: int = option(0, "Seed of the random draws.")
    shard_ratio: float = option(0.2, "Share each shard selects before the merge (ACAV: 20%).")
    size: int | None = option(None, "Keep this many clips in all.")
    ratio: float | None = option(None, "Keep this share of all assigned clips.")
    merge_group_shards: int = option(
        100, "Shards whose winners one merge step takes (a partition of group_selection)."
    )
    merge_batch: int = option(
        4_000_000, "Most candidates one step of the final merge holds (it extends in batches)."
    )
    auto_size: bool = option(
        False,
        "Estimate how many clips correspond (the peak of F over shuffled F along backward "
        "elimination) and keep that many, instead of a size or ratio.",
    )
    auto_shuffles: int = option(3, "Shuffled eliminations the auto size is read against.")
    score_clips_max: int = option(
        5_000_000,
        "Score every clip's contribution to the curated set (clip_scores, for the report) "
        "while its shards hold at most this many assigned clips: the scoring holds them all.",
    )

    def search_kwargs(self) -> dict[str, object]:
        """The settings of the search itself, as ``BatchGreedySelector`` takes them."""
        return {
            name: getattr(self, name)
            for name in ("pairing", "estimator", "strategy", "batch_size", "top_k", "seed")
        }

    def validate(self) -> SelectionOptions:
        """Raise ``OptionError`` at the first bad setting."""
        check_choice("strategy", self.strategy, STRATEGIES)
        check_choice("estimator", self.estimator, ESTIMATORS)
        check_choice("pairing", self.pairing, PAIRINGS)
        for name in ("batch_size", "top_k", "merge_group_shards", "merge_batch"):
            if getattr(self, name) < 1:
                raise OptionError(name, f"{getattr(self, name)!r} must be >= 1")
        if self.size is not None and self.ratio is not None:
            raise OptionError("ratio", "give size or ratio, not both")
        if self.auto_size and (self.size is not None or self.ratio is not None):
            raise OptionError("auto_size", "an auto size takes no size or ratio")
        if self.auto_shuffles < 2:
            raise OptionError("auto_shuffles", f"{self.auto_shuffles!r} must be >= 2")
        if self.size is not None and self.size < 1:
            raise OptionError("size", f"{self.size!r} must be >= 1")
        for name in ("ratio", "shard_ratio"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise OptionError(name, f"{value!r} must be in [0, 1]")
        return self
