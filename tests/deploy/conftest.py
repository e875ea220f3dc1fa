"""Fixtures of the deployment tests: the parsed Helm values, Kubernetes instance and k8s/."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from deploy_files import DEPLOYMENTS, k8s_manifests, load_docs


@pytest.fixture(scope="session")
def helm_values() -> dict[str, Any]:
    return yaml.safe_load((DEPLOYMENTS / "helm" / "values.yaml").read_text())


@pytest.fixture(scope="session")
def k8s_instance() -> dict[str, Any]:
    return yaml.safe_load((DEPLOYMENTS / "dagster.k8s.yaml").read_text())


@pytest.fixture(scope="session")
def k8s_objects() -> dict[tuple[str, str], dict[str, Any]]:
    """Every object in k8s/, keyed by (kind, name)."""
    objects = {}
    for path in k8s_manifests():
        for doc in load_docs(path):
            key = (doc["kind"], doc["metadata"]["name"])
            objects.setdefault(key, doc)
    return objects
