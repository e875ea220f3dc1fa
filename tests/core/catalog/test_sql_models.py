"""SQL models: ordering by refs, clear errors, and declared tests that catch bad data."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from acav_assets.core.catalog import SqlModelError, SqlProject

PROJECT_DIR = Path(__file__).resolve().parents[3] / "dbt_like_sql"


def _write(folder: Path, name: str, text: str) -> None:
    (folder / f"{name}.sql").write_text(text)


def test_models_run_in_dependency_order(tmp_path: Path) -> None:
    _write(tmp_path, "a_final", "-- materialized: table\nselect x * 2 as y from {{ ref('m_mid') }}")
    _write(tmp_path, "m_mid", "select x + 1 as x from {{ ref('z_base') }}")
    _write(tmp_path, "z_base", "select 1 as x")
    project = SqlProject.load(tmp_path)
    assert [m.name for m in project.order()] == ["z_base", "m_mid", "a_final"]
    con = duckdb.connect()
    assert project.run(con) == {"z_base": 1, "m_mid": 1, "a_final": 1}
    assert con.sql("select y from a_final").fetchall() == [(4,)]
    kinds = dict(con.sql("select table_name, table_type from information_schema.tables").fetchall())
    assert kinds == {"z_base": "VIEW", "m_mid": "VIEW", "a_final": "BASE TABLE"}


def test_a_cycle_names_the_models_and_files(tmp_path: Path) -> None:
    _write(tmp_path, "first", "select * from {{ ref('second') }}")
    _write(tmp_path, "second", "select * from {{ ref('first') }}")
    with pytest.raises(SqlModelError, match=r"cycle between models.*first.*first\.sql"):
        SqlProject.load(tmp_path)


def test_an_unknown_ref_names_the_model_and_file(tmp_path: Path) -> None:
    _write(tmp_path, "orders", "select * from {{ ref('customers') }}")
    with pytest.raises(
        SqlModelError, match=r"model 'orders' \(.*orders\.sql\).*ref\('customers'\)"
    ):
        SqlProject.load(tmp_path)


def test_failing_sql_names_the_model_and_file(tmp_path: Path) -> None:
    _write(tmp_path, "broken", "select no_such_column from (select 1 as x)")
    project = SqlProject.load(tmp_path)
    with pytest.raises(SqlModelError, match=r"model 'broken' \(.*broken\.sql\): SQL failed"):
        project.run(duckdb.connect())


def test_bad_headers_are_rejected(tmp_path: Path) -> None:
    _write(tmp_path, "odd", "-- materialized: incremental\nselect 1")
    with pytest.raises(SqlModelError, match="materialized must be one of"):
        SqlProject.load(tmp_path)
    _write(tmp_path, "odd", "-- tests:\n--   - uniq: x\nselect 1 as x")
    with pytest.raises(SqlModelError, match="unknown test kind 'uniq'"):
        SqlProject.load(tmp_path)


def test_declared_tests_fail_on_bad_data_and_pass_on_good(tmp_path: Path) -> None:
    header = (
        "-- tests:\n"
        "--   - unique: id\n"
        "--   - not_null: [id, status]\n"
        "--   - accepted_values: {column: status, values: [ok, failed]}\n"
        "--   - relationships: {column: parent, to: parents, field: pid}\n"
    )
    _write(tmp_path, "parents", "select 1 as pid")
    _write(tmp_path, "rows", header + "select * from {{ ref('parents') }}, raw_rows")
    project = SqlProject.load(tmp_path)
    con = duckdb.connect()
    con.execute("create table raw_rows as select 1 as id, 'ok' as status, 1 as parent")
    project.run(con)
    assert all(outcome.passed for outcome in project.test(con, "rows"))
    con.execute("insert into raw_rows values (1, 'ok', 1), (2, null, 1), (3, 'weird', 7)")
    failed = {o.test: o.failing_rows for o in project.test(con, "rows") if not o.passed}
    assert failed == {
        "unique_id": 1,
        "not_null_status": 1,
        "accepted_values_status": 1,
        "relationships_parent_to_parents": 1,
    }


def test_the_shipped_project_loads_and_runs_on_an_empty_catalog(storage) -> None:
    from acav_assets.core.catalog import Catalog

    project = SqlProject.load(PROJECT_DIR)
    names = [m.name for m in project.order()]
    assert names.index("lineage") > names.index("stg_clips")
    catalog = Catalog(storage, storage.path("catalog.duckdb"))
    with catalog.connect(write=True) as con:
        catalog.refresh_views(con)
        counts = project.run(con)
        assert set(counts) == set(names)
        assert all(o.passed for name in names for o in project.test(con, name))


def test_a_fresh_catalog_file_gets_the_upstream_models_a_model_needs(tmp_path: Path) -> None:
    _write(tmp_path, "base", "select 1 as x")
    _write(tmp_path, "middle", "select x + 1 as x from {{ ref('base') }}")
    _write(tmp_path, "top", "select x * 2 as y from {{ ref('middle') }}")
    _write(tmp_path, "unrelated", "select 0 as z")
    project = SqlProject.load(tmp_path)
    con = duckdb.connect()
    assert project.create_missing_upstream(con, "top") == ["base", "middle"]
    assert project.create_missing_upstream(con, "top") == []
    assert project.materialize(con, "top") == 1
    assert con.sql("select y from top").fetchall() == [(4,)]
