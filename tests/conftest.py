"""Shared fixtures: every test gets its own storage root and no inherited ACAV_HOME."""

from __future__ import annotations

import pytest

from acav_assets.core.storage import StorageRoot


@pytest.fixture(autouse=True)
def _isolated_home(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory):
    monkeypatch.setenv("ACAV_HOME", str(tmp_path_factory.mktemp("acav_home")))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)


@pytest.fixture
def storage(tmp_path) -> StorageRoot:
    return StorageRoot(str(tmp_path / "root"))
