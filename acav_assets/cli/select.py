"""``acav select``: the selection engine on a Parquet table of cluster labels."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from acav_assets.cli.app import app
from acav_assets.cli.common import opt, print_summary, stderr
from acav_assets.cli.pipeline import SizeOption, checked, parse_size
from acav_assets.core.selection.options import SelectionOptions as Select


@app.command("select")
def select(
    assignments: Annotated[
        Path,
        typer.Option(
            exists=True, dir_okay=False, help="Parquet: clip_id and audio_<layer>/visual_<layer>."
        ),
    ],
    out: Annotated[
        Path, typer.Option(dir_okay=False, help="Parquet written: clip_id, rank, contribution.")
    ],
    ratio: Annotated[float | None, opt(Select, "ratio", min=0.0, max=1.0)] = None,
    size: SizeOption = None,
    pairing: Annotated[str, opt(Select, "pairing")] = Select.pairing,
    batch_size: Annotated[int, opt(Select, "batch_size", min=1)] = Select.batch_size,
    top_k: Annotated[int, opt(Select, "top_k", min=1)] = Select.top_k,
    exact: Annotated[bool, typer.Option(help="Score every clip each step (slow).")] = False,
    strategy: Annotated[str, opt(Select, "strategy")] = Select.strategy,
    estimator: Annotated[str, opt(Select, "estimator")] = Select.estimator,
    seed: Annotated[int, opt(Select, "seed")] = Select.seed,
) -> None:
    """Select the clips whose audio and visual clusterings share the most information. Any
    integer labels do (each column is relabelled 0..k-1)."""
    import numpy as np
    import polars as pl
    from rich.progress import Progress

    from acav_assets.core.selection import (
        BatchGreedySelector,
        contributions,
        estimate_share,
        read_assignments,
    )
    from acav_assets.core.storage import StorageRoot

    if (ratio is None) == (size is None):
        raise typer.BadParameter("give exactly one of --ratio or --size", param_hint="--ratio")
    options = Select(
        pairing=pairing, batch_size=batch_size, top_k=top_k, strategy=strategy,
        estimator=estimator, seed=seed, ratio=ratio, **parse_size(size),
    )  # fmt: skip
    checked(options.validate)
    try:
        table = read_assignments(assignments)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--assignments") from None
    columns, labels = table.columns, table.labels
    search = {"strategy": strategy, "pairing": pairing, "estimator": estimator}
    estimate = None
    try:
        if options.auto_size:
            estimate = estimate_share(labels, columns, seed=seed, **search)
        selector = BatchGreedySelector(
            n_select=estimate.size if estimate else options.size, ratio=ratio,
            batch_size=batch_size, top_k=top_k, exact=exact, seed=seed, **search,
        )  # fmt: skip
        with Progress(console=stderr, transient=True) as bar:
            task = bar.add_task("selecting", total=None)
            selector.fit(
                labels, columns,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )  # fmt: skip
    except (ValueError, TypeError) as error:
        raise typer.BadParameter(str(error), param_hint="--assignments") from None
    order = selector.order_
    result = pl.DataFrame(
        {
            "clip_id": table.clip_ids.gather(order),
            "rank": pl.Series(np.arange(len(order)), dtype=pl.Int64),
            "contribution": contributions(labels, columns, order, **search)[order],
        }
    )
    target = StorageRoot(str(out.parent.resolve()))
    with target.open_atomic(target.path(out.name)) as handle:
        result.write_parquet(handle)
    print_summary(
        {
            "candidates": len(table.clip_ids),
            "selected": len(order),
            "pairs": len(selector.pairs_),
            "objective": selector.objective_,
            "seconds": round(selector.seconds_, 3),
            **({"auto_size": estimate.summary()} if estimate else {}),
        }
    )
