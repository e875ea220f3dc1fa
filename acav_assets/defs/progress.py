"""Progress of long steps in the Dagster log, a line per tenth of the work."""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg


def log_progress(context: dg.OpExecutionContext, label: str) -> Callable[[int, int], None]:
    """A ``progress(done, total)`` callback for core/ that logs at most about ten lines."""
    last = {"tenth": -1}

    def report(done: int, total: int) -> None:
        tenth = 10 * done // max(total, 1)
        if tenth != last["tenth"]:
            last["tenth"] = tenth
            context.log.info(f"{label}: {done}/{total}")

    return report
