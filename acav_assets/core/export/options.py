"""How the curated set is published."""

from __future__ import annotations

from dataclasses import dataclass

from acav_assets.core.options import option


@dataclass(frozen=True)
class ExportOptions:
    """The export domain's settings."""

    name: str = option("default", "Export name: the folder under exports/.")
    webdataset: bool = option(False, "Also write WebDataset tar shards of clip files.")
    clips_per_tar: int = option(1000, "Clips per WebDataset tar shard.")
