"""SQL models in the spirit of dbt: one ``.sql`` file a model, ``{{ ref('name') }}`` between
models, ``{{ source('table') }}`` for the pipeline's tables, and a YAML header in leading
``--`` comments that chooses the materialization and declares tests::

    -- materialized: table
    -- description: One row per clip with its video and source.
    -- tests:
    --   - unique: clip_id
    --   - not_null: [clip_id, video_id]
    --   - accepted_values: {column: status, values: [ok, failed]}
    --   - relationships: {column: video_id, to: stg_videos, field: video_id}
    select ... from {{ ref('stg_clips') }}

Every error names the model and its file, so a broken project is fixed where it is broken.
"""

from __future__ import annotations

import graphlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import yaml

_TEMPLATE = re.compile(r"\{\{\s*(\w+)\(\s*['\"]([^'\"]*)['\"]\s*\)\s*\}\}")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MATERIALIZATIONS = ("view", "table")
TEST_KINDS = ("unique", "not_null", "accepted_values", "relationships")


class SqlModelError(ValueError):
    """A model that cannot be parsed, ordered or run; the message names model and file."""


def _quote(name: str) -> str:
    return f'"{name}"'


@dataclass(frozen=True)
class ModelTest:
    """One declared test; it passes when its failing-rows query returns nothing."""

    kind: str
    column: str
    values: tuple[Any, ...] = ()
    to: str | None = None
    field: str | None = None

    @property
    def name(self) -> str:
        suffix = f"_to_{self.to}" if self.kind == "relationships" else ""
        return f"{self.kind}_{self.column}{suffix}"

    def failing_rows_sql(self, model: str) -> tuple[str, list[Any]]:
        table, column = _quote(model), _quote(self.column)
        if self.kind == "unique":
            sql = (
                f"SELECT {column}, count(*) AS n FROM {table} WHERE {column} IS NOT NULL "
                f"GROUP BY {column} HAVING count(*) > 1"
            )
            return sql, []
        if self.kind == "not_null":
            return f"SELECT * FROM {table} WHERE {column} IS NULL", []
        if self.kind == "accepted_values":
            marks = ", ".join("?" for _ in self.values)
            sql = f"SELECT * FROM {table} WHERE {column} IS NOT NULL AND {column} NOT IN ({marks})"
            return sql, list(self.values)
        parent, key = _quote(self.to or ""), _quote(self.field or self.column)
        sql = (
            f"SELECT c.* FROM {table} AS c LEFT JOIN {parent} AS p ON c.{column} = p.{key} "
            f"WHERE c.{column} IS NOT NULL AND p.{key} IS NULL"
        )
        return sql, []


@dataclass(frozen=True)
class TestOutcome:
    __test__ = False  # not a pytest test class

    model: str
    test: str
    passed: bool
    failing_rows: int
    sample: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class SqlModel:
    name: str
    file: str
    sql: str
    materialized: str
    description: str
    refs: tuple[str, ...]
    sources: tuple[str, ...]
    tests: tuple[ModelTest, ...]

    @property
    def depends_on(self) -> tuple[str, ...]:
        """Models that must exist first: refs, and the targets of relationship tests."""
        targets = [t.to for t in self.tests if t.to is not None]
        return tuple(dict.fromkeys([*self.refs, *targets]))

    def compiled_sql(self) -> str:
        """The SQL with every ``ref``/``source`` replaced by the quoted relation name."""
        return _TEMPLATE.sub(lambda m: _quote(m.group(2)), self.sql).strip().rstrip(";")

    def error(self, message: str) -> SqlModelError:
        return SqlModelError(f"model {self.name!r} ({self.file}): {message}")


def _parse_tests(name: str, file: str, specs: Any) -> tuple[ModelTest, ...]:
    def fail(message: str) -> SqlModelError:
        return SqlModelError(f"model {name!r} ({file}): {message}")

    if specs is None:
        return ()
    if not isinstance(specs, list):
        raise fail("'tests' must be a list of {kind: spec} items")
    tests: list[ModelTest] = []
    for spec in specs:
        if not isinstance(spec, dict) or len(spec) != 1:
            raise fail(f"test {spec!r} must be a single {{kind: spec}} mapping")
        ((kind, body),) = spec.items()
        if kind not in TEST_KINDS:
            raise fail(f"unknown test kind {kind!r}; known: {', '.join(TEST_KINDS)}")
        if kind in ("unique", "not_null"):
            columns = body if isinstance(body, list) else [body]
            tests.extend(ModelTest(kind, str(c)) for c in columns)
        elif kind == "accepted_values":
            if not isinstance(body, dict) or "column" not in body or "values" not in body:
                raise fail("accepted_values needs {column: ..., values: [...]}")
            tests.append(ModelTest(kind, str(body["column"]), values=tuple(body["values"])))
        else:
            if not isinstance(body, dict) or "column" not in body or "to" not in body:
                raise fail("relationships needs {column: ..., to: model, field: ...}")
            to_field = str(body.get("field", body["column"]))
            tests.append(ModelTest(kind, str(body["column"]), to=str(body["to"]), field=to_field))
    for test in tests:
        for ident in (test.column, test.field or test.column, test.to or test.column):
            if not _IDENTIFIER.match(ident):
                raise fail(f"test {test.kind} names an invalid identifier {ident!r}")
    return tuple(tests)


def parse_model(path: Path) -> SqlModel:
    """Read one model file: its header (leading ``--`` lines, YAML) and its SQL body."""
    name, file = path.stem, str(path)
    if not _IDENTIFIER.match(name):
        raise SqlModelError(f"model {name!r} ({file}): the file name is not a valid identifier")
    lines = path.read_text().splitlines()
    header: list[str] = []
    while lines and (lines[0].startswith("--") or not lines[0].strip()):
        line = lines.pop(0)
        if line.startswith("--"):
            header.append(line[3:] if line.startswith("-- ") else line[2:])
    try:
        config = yaml.safe_load("\n".join(header)) or {}
    except yaml.YAMLError as error:
        raise SqlModelError(f"model {name!r} ({file}): header is not valid YAML: {error}") from None
    if not isinstance(config, dict):
        config = {}
    unknown = sorted(set(config) - {"materialized", "description", "tests"})
    if unknown:
        raise SqlModelError(f"model {name!r} ({file}): unknown header keys {unknown}")
    materialized = config.get("materialized", "view")
    if materialized not in MATERIALIZATIONS:
        raise SqlModelError(
            f"model {name!r} ({file}): materialized must be one of {MATERIALIZATIONS}, "
            f"not {materialized!r}"
        )
    sql = "\n".join(lines)
    if not sql.strip():
        raise SqlModelError(f"model {name!r} ({file}): no SQL after the header")
    refs, sources = [], []
    for function, argument in _TEMPLATE.findall(sql):
        if function not in ("ref", "source"):
            raise SqlModelError(f"model {name!r} ({file}): unknown template {function}()")
        (refs if function == "ref" else sources).append(argument)
    return SqlModel(
        name=name,
        file=file,
        sql=sql,
        materialized=materialized,
        description=str(config.get("description", "")),
        refs=tuple(dict.fromkeys(refs)),
        sources=tuple(dict.fromkeys(sources)),
        tests=_parse_tests(name, file, config.get("tests")),
    )


class SqlProject:
    """A folder of models, validated as a whole: unknown refs and cycles fail at load."""

    def __init__(self, models: dict[str, SqlModel]) -> None:
        self.models = models
        for model in models.values():
            for ref in model.refs:
                if ref not in models:
                    raise model.error(f"ref('{ref}') names no model in this project")
            for test in model.tests:
                if test.to is not None and test.to not in models:
                    raise model.error(f"test {test.name} relates to unknown model {test.to!r}")
        self._order = self._topological_order()

    @classmethod
    def load(cls, directory: str | Path) -> SqlProject:
        paths = sorted(Path(directory).glob("*.sql"))
        models: dict[str, SqlModel] = {}
        for path in paths:
            model = parse_model(path)
            if model.name in models:
                raise model.error(f"duplicate model name (also {models[model.name].file})")
            models[model.name] = model
        return cls(models)

    def _topological_order(self) -> list[str]:
        sorter = graphlib.TopologicalSorter({m.name: m.depends_on for m in self.models.values()})
        try:
            return list(sorter.static_order())
        except graphlib.CycleError as error:
            cycle = error.args[1]
            files = ", ".join(f"{n} ({self.models[n].file})" for n in dict.fromkeys(cycle))
            raise SqlModelError(f"cycle between models: {' -> '.join(cycle)}; in {files}") from None

    def order(self) -> list[SqlModel]:
        """Models in dependency order (every ref before the models that use it)."""
        return [self.models[name] for name in self._order]

    def materialize(self, con: duckdb.DuckDBPyConnection, name: str) -> int:
        """Create or replace one model; returns its row count."""
        model = self.models[name]
        kind = "TABLE" if model.materialized == "table" else "VIEW"
        try:
            con.execute(f"CREATE OR REPLACE {kind} {_quote(name)} AS {model.compiled_sql()}")
            ((rows,),) = con.sql(f"SELECT count(*) FROM {_quote(name)}").fetchall()
        except duckdb.Error as error:
            raise model.error(f"SQL failed: {error}") from error
        return int(rows)

    def create_missing_upstream(self, con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
        """Create the models ``name`` depends on, directly or not, that the database lacks:
        with the root in an object store each step may open a fresh local catalog file."""
        needed, stack = set(), list(self.models[name].depends_on)
        while stack:
            if (dep := stack.pop()) not in needed:
                needed.add(dep)
                stack.extend(self.models[dep].depends_on)
        present = {row[0] for row in con.sql("SELECT table_name FROM duckdb_tables()").fetchall()}
        present |= {row[0] for row in con.sql("SELECT view_name FROM duckdb_views()").fetchall()}
        created = [n for n in self._order if n in needed and n not in present]
        for dep in created:
            self.materialize(con, dep)
        return created

    def run(
        self,
        con: duckdb.DuckDBPyConnection,
        on_model: Callable[[str, int], None] | None = None,
    ) -> dict[str, int]:
        """Materialize every model in dependency order; returns row counts
        (``on_model(name, rows)`` after each)."""
        rows = {}
        for model in self.order():
            rows[model.name] = self.materialize(con, model.name)
            if on_model is not None:
                on_model(model.name, rows[model.name])
        return rows

    def test_all(self, con: duckdb.DuckDBPyConnection) -> list[TestOutcome]:
        """The declared tests of every model, in dependency order."""
        return [outcome for model in self.order() for outcome in self.test(con, model.name)]

    def test(self, con: duckdb.DuckDBPyConnection, name: str) -> list[TestOutcome]:
        """Run the declared tests of one model; a failing test is an outcome, not an error."""
        model = self.models[name]
        outcomes = []
        for test in model.tests:
            sql, params = test.failing_rows_sql(name)
            try:
                ((count,),) = con.sql(f"SELECT count(*) FROM ({sql})", params=params).fetchall()
                failing = con.sql(f"{sql} LIMIT 5", params=params)
                sample, columns = failing.fetchall(), failing.columns
            except duckdb.Error as error:
                raise model.error(f"test {test.name} failed to run: {error}") from error
            outcomes.append(
                TestOutcome(
                    model=name,
                    test=test.name,
                    passed=count == 0,
                    failing_rows=int(count),
                    sample=[dict(zip(columns, row, strict=True)) for row in sample],
                )
            )
        return outcomes
