"""Shared fixtures: every test gets its own storage root and no inherited ACAV_HOME; tests
that need an object store share one S3-compatible server (moto) on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from acav_assets.core.storage import StorageRoot

# Media the tests generate with ffmpeg, shared by the core, defs and CLI tests.
pytest_plugins = ["media_fixtures", "clip_fixtures", "postgres_fixtures"]


@pytest.fixture(autouse=True)
def _isolated_home(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory):
    monkeypatch.setenv("ACAV_HOME", str(tmp_path_factory.mktemp("acav_home")))
    # Recorded, then removed: whatever a test (or local_instance) sets is undone after it.
    monkeypatch.setenv("DAGSTER_HOME", "")
    monkeypatch.delenv("DAGSTER_HOME")


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
