"""The ``acav`` Typer application and its command groups; commands register themselves."""

import typer

app = typer.Typer(
    help="acav: curate audio-visual datasets from uncurated video (ACAV100M, on Dagster).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
catalog_app = typer.Typer(help="The DuckDB catalog over the Parquet tables.", no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")
