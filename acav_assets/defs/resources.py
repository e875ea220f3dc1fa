"""The one resource every asset uses: the storage root, its tables and its catalog.

This module is where the environment reaches the code location, and only as ``dg.EnvVar``s:
Dagster resolves them when a run starts, so their values never enter the repository snapshot
that the UI and GraphQL serve. Object-store credentials are not read by acav at all: s3fs
and botocore take the standard ``AWS_*`` variables themselves. A download proxy that carries
credentials comes the same way (``ACAV_PROXY_URL``), never as run config, which the UI shows.
"""

from __future__ import annotations

import os
from typing import Any

import dagster as dg

from acav_assets.core.catalog import Catalog, TableStore, default_catalog_path
from acav_assets.core.storage import StorageRoot

DEFAULT_HOME = ".acav"
# Resource field -> the environment variable that configures it in a deployment.
ENVIRONMENT = {
    "root": "ACAV_HOME",
    "catalog_path": "ACAV_CATALOG_PATH",
    "media_roots": "ACAV_MEDIA_ROOTS",
    "s3_endpoint_url": "ACAV_S3_ENDPOINT_URL",
    "ytdlp_cookies": "ACAV_YTDLP_COOKIES",
    "proxy_url": "ACAV_PROXY_URL",
    "refuse_private_addresses": "ACAV_REFUSE_PRIVATE_ADDRESSES",
}


class AcavHome(dg.ConfigurableResource):
    """Where acav keeps everything: a folder, or an ``s3://`` URL (endpoint from
    ``s3_endpoint_url`` or the ``AWS_*`` variables, credentials from the ``AWS_*`` variables)."""

    root: str = DEFAULT_HOME
    catalog_path: str | None = None
    media_roots: str = ""  # folders local videos may be read from, os.pathsep-separated
    s3_endpoint_url: str | None = None
    ytdlp_cookies: str | None = None
    proxy_url: str | None = None  # the download proxy, credentials included
    # "true" in a cluster: downloads never reach loopback, link-local or private addresses,
    # whatever a run's config says (DownloadSettings.refuse_private_addresses)
    refuse_private_addresses: str = ""

    def refuses_private_addresses(self) -> bool:
        value = self.refuse_private_addresses.strip().lower()
        if value not in ("", "0", "false", "no", "1", "true", "yes"):
            raise ValueError(f"ACAV_REFUSE_PRIVATE_ADDRESSES={value!r}: use true or false")
        return value in ("1", "true", "yes")

    def _resolved(self) -> None:
        unresolved = [f for f in ENVIRONMENT if isinstance(getattr(self, f), dg.EnvVar)]
        if unresolved:
            raise RuntimeError(
                f"AcavHome fields {unresolved} are still environment variables: use the "
                "resource inside a run, or its process_config_and_initialize() outside one"
            )

    def storage_options(self) -> dict[str, Any]:
        if not self.root.startswith("s3://") or not self.s3_endpoint_url:
            return {}
        return {"client_kwargs": {"endpoint_url": self.s3_endpoint_url}}

    def allowed_roots(self) -> list[str]:
        """Folders whose local videos may be read in place: configured ones, else the root."""
        configured = [p for p in self.media_roots.split(os.pathsep) if p]
        return configured or ([os.path.abspath(self.root)] if "://" not in self.root else [])

    def storage(self) -> StorageRoot:
        self._resolved()
        root = self.root if "://" in self.root else os.path.abspath(self.root)
        return StorageRoot(root, self.storage_options())

    def tables(self) -> TableStore:
        return TableStore(self.storage())

    def catalog(self) -> Catalog:
        storage = self.storage()
        cache = os.path.join(os.path.expanduser("~"), ".cache", "acav")
        return Catalog(storage, self.catalog_path or default_catalog_path(storage, cache))


def acav_home(**overrides: str | None) -> AcavHome:
    """The resource of the code location: each field from ``overrides`` when given (the CLI's
    options), else from its variable when that is set (as an ``EnvVar``, resolved when a run
    starts), else its default."""
    fields: dict[str, Any] = {
        field: dg.EnvVar(name) for field, name in ENVIRONMENT.items() if name in os.environ
    }
    unknown = set(overrides) - set(ENVIRONMENT)
    if unknown:
        raise TypeError(f"AcavHome has no fields {sorted(unknown)}")
    fields.update({k: v for k, v in overrides.items() if v is not None})
    return AcavHome(**fields)
