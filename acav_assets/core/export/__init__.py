"""Export: the curated set as ACAV published it, and WebDataset shards of its clips."""

from acav_assets.core.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "options": [
            "ExportOptions",
        ],
        "rows": [
            "export_rows",
        ],
        "subset": [
            "EXPORT_COLUMNS",
            "ClipFailure",
            "CutError",
            "ExportResult",
            "copy_export",
            "cut_clip",
            "embedding_lookup",
            "export_subset",
        ],
    },
)
