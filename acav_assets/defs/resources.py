"""The one resource every asset uses: the storage root, its tables and its catalog."""

from __future__ import annotations

import os
from typing import Any

import dagster as dg

from acav_assets.core.catalog import Catalog, TableStore, default_catalog_path
from acav_assets.core.storage import StorageRoot


def default_home() -> str:
    """``$ACAV_HOME`` or ``./.acav``: the single place the local default is decided."""
    return os.environ.get("ACAV_HOME") or os.path.abspath(".acav")


class AcavHome(dg.ConfigurableResource):
    """Where acav keeps everything: a folder, or an S3-compatible URL with its endpoint and
    credentials (from the environment, never from code)."""

    root: str
    catalog_path: str | None = None
    media_roots: list[str] = []
    s3_endpoint_url: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None

    def storage_options(self) -> dict[str, Any]:
        if not self.root.startswith("s3://"):
            return {}
        options: dict[str, Any] = {}
        if self.s3_endpoint_url:
            options["client_kwargs"] = {"endpoint_url": self.s3_endpoint_url}
        if self.s3_access_key_id:
            options["key"] = self.s3_access_key_id
            options["secret"] = self.s3_secret_access_key
        return options

    def allowed_roots(self) -> list[str]:
        """Folders whose local videos may be read in place: configured ones, else the root."""
        return self.media_roots or ([self.root] if "://" not in self.root else [])

    def storage(self) -> StorageRoot:
        return StorageRoot(self.root, self.storage_options())

    def tables(self) -> TableStore:
        return TableStore(self.storage())

    def catalog(self) -> Catalog:
        storage = self.storage()
        cache = os.path.join(os.path.expanduser("~"), ".cache", "acav")
        return Catalog(storage, self.catalog_path or default_catalog_path(storage, cache))


def acav_home_from_env() -> AcavHome:
    """The resource as configured by the environment (local folder by default)."""
    return AcavHome(
        root=default_home(),
        catalog_path=os.environ.get("ACAV_CATALOG_PATH"),
        media_roots=[p for p in os.environ.get("ACAV_MEDIA_ROOTS", "").split(os.pathsep) if p],
        s3_endpoint_url=os.environ.get("ACAV_S3_ENDPOINT_URL"),
        s3_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID"),
        s3_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY"),
    )
