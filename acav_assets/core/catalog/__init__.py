"""The Parquet tables, their DuckDB catalog and the SQL models over it."""

from acav_assets.core.catalog.catalog import Catalog, QueryRefused, default_catalog_path
from acav_assets.core.catalog.schemas import TABLE_SCHEMAS
from acav_assets.core.catalog.sql_models import (
    ModelTest,
    SqlModel,
    SqlModelError,
    SqlProject,
    TestOutcome,
)
from acav_assets.core.catalog.tables import TableStore

__all__ = [
    "TABLE_SCHEMAS",
    "Catalog",
    "ModelTest",
    "QueryRefused",
    "SqlModel",
    "SqlModelError",
    "SqlProject",
    "TableStore",
    "TestOutcome",
    "default_catalog_path",
]
