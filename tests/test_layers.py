"""The layering rule of ARCHITECTURE.md: core/ knows nothing of Dagster, the environment,
or its caller's terminal."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "acav_assets" / "core"


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            names = []
        found += [
            f"imports {n}"
            for n in names
            if n.split(".")[0] in ("dagster", "acav_assets")
            and (
                n.startswith("dagster")
                or n.startswith("acav_assets.defs")
                or n == "acav_assets.cli"
            )
        ]
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
            if isinstance(node.value, ast.Name) and node.value.id == "os":
                found.append(f"reads os.{node.attr}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "print":
                found.append("prints")
    return [f"{path.relative_to(CORE.parent)}:{v}" for v in found]


def test_core_never_imports_dagster_reads_the_environment_or_prints() -> None:
    files = sorted(CORE.rglob("*.py"))
    assert files, "no core modules found"
    violations = [v for path in files for v in _violations(path)]
    assert violations == []
