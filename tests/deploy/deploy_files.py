"""Paths and parsers shared by the deployment tests (all offline: no cluster, no Docker)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOYMENTS = REPO / "deployments"
K8S = REPO / "k8s"

# "Current release": the newest Kubernetes whose schemas kubernetes-validate carries, and never
# older than this floor, so a stale validator cannot make the check meaningless.
K8S_VERSION_FLOOR = (1, 33)


def k8s_version() -> str:
    latest = kubernetes_validate.utils.latest_version()
    major, minor = (int(p) for p in latest.split(".")[:2])
    if (major, minor) < K8S_VERSION_FLOOR:
        raise RuntimeError(f"kubernetes-validate only knows Kubernetes {latest}")
    return latest


def validate_k8s(doc: dict[str, Any]) -> str:
    """Strict schema validation: unknown fields fail, as `kubectl apply --validate=strict`."""
    return kubernetes_validate.validate(doc, k8s_version(), strict=True)


def load_docs(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def k8s_manifests() -> list[Path]:
    return sorted(K8S.rglob("*.yaml"))


def pyproject_pins() -> dict[str, str]:
    """``name -> version`` for every ``==`` pin in pyproject.toml (dependencies and extras)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        specs.extend(extra)
    pins = {}
    for spec in specs:
        match = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^;\s]+)", spec)
        if match is None:
            raise ValueError(f"pyproject.toml dependency {spec!r} is not an exact pin")
        pins[match.group(1).lower().replace("_", "-")] = match.group(3)
    return pins
