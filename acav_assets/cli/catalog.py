"""``acav catalog refresh | models | query``: the DuckDB catalog and the SQL models."""

from __future__ import annotations

from typing import Annotated

import typer

from acav_assets.cli.app import catalog_app
from acav_assets.cli.common import HomeOption, acav, print_summary, resolved, stderr


def _catalog(home: str | None):
    return resolved(acav(home)).catalog()


@catalog_app.command("refresh")
def catalog_refresh(home: HomeOption = None) -> None:
    """Re-create the DuckDB views over every table's Parquet shards."""
    print_summary({"tables": _catalog(home).refresh()})


@catalog_app.command("models")
def catalog_models(
    home: HomeOption = None,
    models: Annotated[
        str | None, typer.Option(help="Folder of SQL models (default: the shipped dbt_like_sql).")
    ] = None,
) -> None:
    """Run every SQL model in dependency order, then its declared tests; exit 1 if one fails."""
    from acav_assets.core.catalog import SqlModelError, SqlProject
    from acav_assets.defs.catalog.sql_models import SQL_DIR

    catalog = _catalog(home)
    try:
        project = SqlProject.load(models or SQL_DIR)
        with catalog.connect(write=True) as con:
            catalog.refresh_views(con)
            rows = project.run(
                con, on_model=lambda name, n: stderr.print(f"[green]built[/] {name} ({n} rows)")
            )
            failed = [o for o in project.test_all(con) if not o.passed]
    except SqlModelError as error:
        stderr.print(f"[red]error:[/] {error}")
        raise typer.Exit(1) from None
    for outcome in failed:
        stderr.print(f"[red]test failed:[/] {outcome.model}.{outcome.test}: {outcome.failing_rows}")
    print_summary({"models": rows, "failed_tests": [f"{o.model}.{o.test}" for o in failed]})
    if failed:
        raise typer.Exit(1)


@catalog_app.command("query")
def catalog_query(
    sql: Annotated[str, typer.Argument(help="A read-only SQL query over the catalog.")],
    home: HomeOption = None,
) -> None:
    """Run one read-only SELECT over the catalog's views and print the result."""
    import duckdb

    from acav_assets.core.catalog import QueryRefused

    try:
        frame = _catalog(home).query(sql)
    except (duckdb.Error, QueryRefused) as error:
        raise typer.BadParameter(f"{error}", param_hint="SQL") from None
    stderr.print(frame)
    print_summary({"rows": frame.height, "columns": frame.columns})
