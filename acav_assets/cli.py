"""The ``acav`` command: thin fronts over core/ and the Dagster definitions.

Every command shows progress on stderr and prints one JSON summary as its last line on stdout.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

app = typer.Typer(
    help="acav: curate audio-visual datasets from uncurated video (ACAV100M, on Dagster).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
catalog_app = typer.Typer(help="The DuckDB catalog over the Parquet tables.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")

stderr = Console(stderr=True)

HomeOption = Annotated[
    str | None,
    typer.Option(
        "--home",
        help="Storage root (a folder or an s3:// URL). Defaults to $ACAV_HOME, else ./.acav.",
    ),
]


def resolve_home(home: str | None) -> str:
    """The storage root from the option, else ``$ACAV_HOME``, else ``./.acav``."""
    return home or os.environ.get("ACAV_HOME") or os.path.abspath(".acav")


def print_summary(summary: dict[str, Any]) -> None:
    """The one JSON line every command ends with."""
    sys.stdout.write(json.dumps(summary, default=str) + "\n")
    sys.stdout.flush()


# --- catalog commands ---

# --- ingest command ---

# --- embed command ---

# --- select command ---

# --- evaluate command ---

# --- curate and demo commands ---


def main() -> None:
    app()
