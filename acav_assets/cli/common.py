"""What every command shares: the storage root option, the option helper that reads defaults
and help from the core options, progress on stderr, the JSON summary, and the mapping of
errors to messages and exit codes."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from acav_assets.core.options import OptionError, help_of

stderr = Console(stderr=True)
T = TypeVar("T")

HomeOption = Annotated[
    str | None,
    typer.Option(
        "--home",
        help="Storage root (a folder or an s3:// URL). Defaults to $ACAV_HOME, else ./.acav.",
    ),
]


def opt(options: type, name: str, *decls: str, help_suffix: str = "", **kwargs: Any) -> Any:
    """A ``typer.Option`` whose help is the core option's (``options.name``)."""
    return typer.Option(*decls, help=help_of(options, name) + help_suffix, **kwargs)


def print_summary(summary: dict[str, Any]) -> None:
    """The one JSON line every command ends with."""
    sys.stdout.write(json.dumps(summary, default=str) + "\n")
    sys.stdout.flush()


def acav(home: str | None, media_roots: list[str] | None = None):
    """The code location's resource, with the root and media roots of this command."""
    from acav_assets.defs.resources import acav_home

    roots = os.pathsep.join(os.path.abspath(r) for r in media_roots) if media_roots else None
    return acav_home(root=home, media_roots=roots)


def resolved(resource):
    """The resource with its environment variables read (for use outside a run)."""
    return resource.process_config_and_initialize()


@contextlib.contextmanager
def stage_bar() -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar over the stages of a long command, and its ``stage`` callback."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    columns = (BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress("[progress.description]{task.description}", *columns, console=stderr) as bar:
        task = bar.add_task("starting", total=None)

        def stage(label: str, done: int, total: int) -> None:
            bar.update(task, description=label, completed=done, total=total)

        yield stage


def bad_option(error: OptionError) -> typer.BadParameter:
    """An invalid setting as the CLI names it (``--shard-ratio``)."""
    return typer.BadParameter(str(error), param_hint="--" + error.option.replace("_", "-"))


def operational(run: Callable[[], T]) -> T:
    """Run a pipeline step; a failure of the pipeline is a message and exit code 1."""
    import dagster as dg

    from acav_assets.defs.local import PipelineError

    try:
        return run()
    except (PipelineError, dg.DagsterError, ValueError, OSError) as error:
        stderr.print(f"[red]failed:[/] {type(error).__name__}: {error}")
        raise typer.Exit(1) from None
