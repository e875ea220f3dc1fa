"""One asset per SQL model (deps from its refs and sources), one blocking check per test."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from acav_assets.core.catalog import SqlModel, SqlProject, TestOutcome
from acav_assets.defs.execution import k8s_op_tags
from acav_assets.defs.markdown import markdown_table
from acav_assets.defs.resources import AcavHome

SQL_DIR = Path(__file__).resolve().parents[3] / "dbt_like_sql"

# Which pipeline assets write each table that a model reads with source().
TABLE_PRODUCERS: dict[str, tuple[str, ...]] = {
    "sources": ("sources",),
    "videos": ("videos",),
    "clips": ("clips",),
    "embeddings": ("audio_embeddings", "visual_embeddings"),
    "exports": ("curated_export",),
}


def _deps(model: SqlModel) -> list[str]:
    producers = [p for source in model.sources for p in TABLE_PRODUCERS.get(source, (source,))]
    return list(dict.fromkeys([*model.depends_on, *producers]))


def _check_result(outcome: TestOutcome) -> dg.AssetCheckResult:
    metadata: dict[str, dg.RawMetadataValue] = {"failing_rows": outcome.failing_rows}
    if outcome.sample:
        columns = list(outcome.sample[0])
        rows = [[r[c] for c in columns] for r in outcome.sample]
        metadata["sample"] = dg.MetadataValue.md(markdown_table(columns, rows))
    return dg.AssetCheckResult(
        asset_key=outcome.model, check_name=outcome.test, passed=outcome.passed, metadata=metadata
    )


def build_model_asset(project: SqlProject, model: SqlModel) -> dg.AssetsDefinition:
    check_specs = [
        dg.AssetCheckSpec(
            name=test.name,
            asset=model.name,
            blocking=True,
            description=f"{test.kind} on {test.column}",
        )
        for test in model.tests
    ]

    @dg.asset(
        name=model.name,
        deps=_deps(model),
        group_name="catalog",
        description=model.description or None,
        check_specs=check_specs,
        code_version=hashlib.sha256(model.sql.encode()).hexdigest()[:12],
        kinds={"duckdb", "sql"},
        pool="catalog_writes",
        op_tags=k8s_op_tags(cpu="1", memory="4Gi"),
        metadata={"file": str(model.file), "materialized": model.materialized},
    )
    def _model(acav: AcavHome) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        catalog = acav.catalog()
        with catalog.connect(write=True) as con:
            catalog.refresh_views(con)
            project.create_missing_upstream(con, model.name)
            rows = project.materialize(con, model.name)
            outcomes = project.test(con, model.name)
        yield dg.MaterializeResult(
            metadata={
                "rows": rows,
                "sql": dg.MetadataValue.md(f"```sql\n{model.compiled_sql()}\n```"),
            }
        )
        yield from (_check_result(outcome) for outcome in outcomes)

    return _model


def build_sql_model_defs(directory: Path = SQL_DIR) -> dg.Definitions:
    project = SqlProject.load(directory)
    return dg.Definitions(assets=[build_model_asset(project, m) for m in project.order()])
