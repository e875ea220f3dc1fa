"""A small generated corpus shared by the Dagster tests (rendered once per session)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from acav_assets.core.evaluation import CorpusInfo, generate_corpus


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> CorpusInfo:
    """12 videos of 31-36 s (past ACAV's 30 s filter) in 6 classes, half with swapped sound.

    Six classes, so that no clustering of ~20 clips needs a cluster of half of them
    (the no_dominant_cluster check) when two sound families embed alike."""
    return generate_corpus(
        tmp_path_factory.mktemp("corpus"),
        n_videos=12,
        n_classes=6,
        min_seconds=31,
        max_seconds=36,
        width=160,
        height=96,
        fps=8,
        seed=3,
    )


@pytest.fixture
def write_manifest() -> Callable[..., Path]:
    """Writes a one-column CSV manifest of video paths: ``write(folder, paths, name=...)``."""

    def write(folder: Path, paths: list[str], name: str = "manifest.csv") -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        manifest = folder / name
        manifest.write_text("path\n" + "".join(f"{p}\n" for p in paths))
        return manifest

    return write
