"""Shared fixtures: every test gets its own storage root, no inherited ACAV_HOME and no
inherited Dagster definitions state; tests that need an object store share one
S3-compatible server (moto) on 127.0.0.1."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import pytest
from dagster._core.storage.defs_state.base import set_defs_state_storage

from acav_assets.core.storage import StorageRoot

# Media the tests generate with ffmpeg, shared by the core, defs and CLI tests.
pytest_plugins = ["media_fixtures", "clip_fixtures", "postgres_fixtures"]


@pytest.fixture(autouse=True)
def _isolated_home(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory):
    monkeypatch.setenv("ACAV_HOME", str(tmp_path_factory.mktemp("acav_home")))
    # Recorded, then removed: whatever a test (or local_instance) sets is undone after it.
    monkeypatch.setenv("DAGSTER_HOME", "")
    monkeypatch.delenv("DAGSTER_HOME")


@pytest.fixture(autouse=True)
def _no_inherited_definitions_state() -> Iterator[None]:
    """Dagster keeps the definitions-state storage of the instance entered last in a context
    variable, and resolving any ``Definitions`` reads it. Where a storage stays current after
    its instance is collected (its reset cannot run in another thread's context, for one), a
    later test failed on the dead weakref, at random in CI; so each test starts with none."""
    with set_defs_state_storage(None):
        yield


@pytest.fixture
def storage(tmp_path) -> StorageRoot:
    return StorageRoot(str(tmp_path / "root"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on, for a server a test starts."""
    return _free_port()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's server speaking the S3 protocol over HTTP; give each test its own bucket."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_root(s3_endpoint: str) -> StorageRoot:
    """A fresh bucket per test, so tests never see each other's keys."""
    options = {
        "key": "acav-test-key",
        "secret": "acav-test-secret",
        "client_kwargs": {"endpoint_url": s3_endpoint, "region_name": "eu-west-1"},
        # A fresh s3fs instance per test: fsspec caches instances by their options.
        "skip_instance_cache": True,
    }
    bucket = f"acav-{uuid.uuid4().hex[:12]}"
    root = StorageRoot(f"s3://{bucket}/curation", storage_options=options)
    root.fs.mkdir(bucket)
    return root
