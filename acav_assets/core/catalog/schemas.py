"""Declared schemas of the pipeline's tables.

A declared table is checked and cast on every write, so a typo in a column name fails at the
writer instead of surfacing as a NULL column in SQL, and the catalog can expose an empty,
typed view before the first shard lands. Tables without a declaration are stored as given.
"""

from __future__ import annotations

import pyarrow as pa

_TS = pa.timestamp("us", tz="UTC")

TABLE_SCHEMAS: dict[str, pa.Schema] = {
    # One row per manifest row, written when a manifest is registered.
    "sources": pa.schema(
        [
            ("video_id", pa.string()),
            ("source", pa.string()),
            ("source_sha256", pa.string()),
            ("line", pa.int64()),
            ("url", pa.string()),
            ("youtube_id", pa.string()),
            ("path", pa.string()),
            ("start_s", pa.float64()),
            ("end_s", pa.float64()),
            # the dataset's own annotations, as its list gives them (AudioSet, VGGSound)
            ("labels", pa.string()),
            ("split", pa.string()),
            ("registered_at", _TS),
        ]
    ),
    "videos": pa.schema(
        [
            ("video_id", pa.string()),
            ("source", pa.string()),
            ("url", pa.string()),
            ("path", pa.string()),
            ("status", pa.string()),
            ("reason", pa.string()),
            ("detail", pa.string()),
            ("duration_s", pa.float64()),
            ("width", pa.int32()),
            ("height", pa.int32()),
            ("fps", pa.float64()),
            ("has_audio", pa.bool_()),
            ("has_video", pa.bool_()),
            ("audio_rate", pa.int32()),
            ("bytes", pa.int64()),
            ("sha256", pa.string()),
            ("ingested_at", _TS),
            ("run_id", pa.string()),
            ("code_version", pa.string()),
        ]
    ),
    "clips": pa.schema(
        [
            ("clip_id", pa.string()),
            ("video_id", pa.string()),
            ("start_s", pa.float64()),
            ("end_s", pa.float64()),
            ("strategy", pa.string()),
            # The file that holds the window and where in it the window starts: the video
            # itself (media_start_s = start_s) or a downloaded section (media_start_s = 0).
            ("media_path", pa.string()),
            ("media_start_s", pa.float64()),
            ("run_id", pa.string()),
        ]
    ),
    "embeddings": pa.schema(
        [
            ("clip_id", pa.string()),
            ("extractor", pa.string()),
            ("extractor_version", pa.string()),
            ("status", pa.string()),
            ("reason", pa.string()),
            ("detail", pa.string()),
            ("audio_rms", pa.float64()),
            ("frame_diff", pa.float64()),
            ("frame_luma", pa.float64()),
            ("run_id", pa.string()),
        ]
    ),
    # Shard key = export name; one row per exported clip: ok, or failed (its file could not
    # be cut for the tar shards) with its reason.
    "exports": pa.schema(
        [
            ("clip_id", pa.string()),
            ("rank", pa.int64()),
            ("status", pa.string()),
            ("reason", pa.string()),
            ("detail", pa.string()),
            ("exported_at", _TS),
            ("run_id", pa.string()),
            ("code_version", pa.string()),
        ]
    ),
    # One file for the whole curated set: every assigned clip's contribution to it.
    "clip_scores": pa.schema(
        [
            ("clip_id", pa.string()),
            ("from_shard", pa.string()),
            ("contribution", pa.float64()),
            ("kept", pa.bool_()),
        ]
    ),
}


def conform(table: str, data: pa.Table) -> pa.Table:
    """Cast ``data`` to the declared schema of ``table`` (missing nullable columns become
    nulls); raise ``ValueError`` naming unknown columns. Undeclared tables pass through."""
    schema = TABLE_SCHEMAS.get(table)
    if schema is None:
        return data
    unknown = sorted(set(data.column_names) - set(schema.names))
    if unknown:
        raise ValueError(f"table {table!r} has no columns {unknown}; declared: {schema.names}")
    columns = []
    for field in schema:
        if field.name in data.column_names:
            column = data.column(field.name)
            if column.type == field.type:
                columns.append(column)
                continue
            try:
                columns.append(column.cast(field.type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
                raise ValueError(
                    f"table {table!r}, column {field.name!r}: cannot cast {column.type} to "
                    f"{field.type}: {error}"
                ) from error
        else:
            columns.append(pa.nulls(data.num_rows, field.type))
    return pa.Table.from_arrays(columns, schema=schema)
