"""A table of cluster assignments from outside the pipeline, checked and made dense.

``acav select`` takes a Parquet file someone else wrote: a ``clip_id`` column and one column
of cluster labels per clustering (``audio_<layer>``, ``visual_<layer>``). Labels are only
names of clusters, so any integers do (1e12, -3, sparse ids): each column is relabelled to
``0..k-1`` in memory linear in the rows, which leaves every contingency table, and so the
objective, as it was. Everything else that is wrong is a ``ValueError`` naming the file,
the column and a row: not Parquet, no or duplicate or null clip ids, labels that are not
integers or are missing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import polars as pl

from acav_assets.core.selection.pairing import parse_column

CLIP_ID = "clip_id"


@dataclass(frozen=True)
class Assignments:
    """Clip ids, dense labels int64 ``(n_clips, n_clusterings)`` and the clusterings' names."""

    clip_ids: pl.Series
    labels: np.ndarray
    columns: list[str]


def _dense(name: str, column: pl.Series, where: str) -> np.ndarray:
    """One clustering's labels as ``0..k-1`` (the order of the original ids)."""
    if column.null_count():
        row = int(column.is_null().arg_true()[0])
        raise ValueError(f"{where}: column {name!r} has no label in row {row}")
    if column.dtype.is_float():
        values = column.to_numpy()
        bad = ~np.isfinite(values) | (values != np.round(values))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{where}: label {values[row]} in column {name!r} (row {row}) is not an integer"
            )
    elif not column.dtype.is_integer():
        raise ValueError(f"{where}: column {name!r} holds {column.dtype}, not integer labels")
    _, dense = np.unique(column.to_numpy(), return_inverse=True)
    return dense.astype(np.int64)


def read_assignments(path: str | os.PathLike[str]) -> Assignments:
    """Read and check an assignments table; raise ``ValueError`` naming what is wrong."""
    where = os.fspath(path)
    try:
        frame = pl.read_parquet(path)
    except (pl.exceptions.ComputeError, pl.exceptions.PolarsError, OSError) as error:
        raise ValueError(f"{where} is not a readable Parquet file: {error}") from error
    if CLIP_ID not in frame.columns:
        raise ValueError(f"{where} has no {CLIP_ID} column (columns: {frame.columns})")
    clip_ids = frame[CLIP_ID].cast(pl.String, strict=False)
    if clip_ids.null_count():
        row = int(clip_ids.is_null().arg_true()[0])
        raise ValueError(f"{where}: {CLIP_ID} is missing in row {row}")
    repeated = clip_ids.filter(clip_ids.is_duplicated()).unique(maintain_order=True)
    if len(repeated):
        shown = repeated.head(5).to_list()
        raise ValueError(f"{where}: {CLIP_ID}s appear more than once: {shown}")
    columns = [c for c in frame.columns if c != CLIP_ID]
    if not columns:
        raise ValueError(f"{where} has no label columns (audio_<layer>, visual_<layer>)")
    for column in columns:
        parse_column(column)
    labels = np.empty((frame.height, len(columns)), dtype=np.int64)
    for index, column in enumerate(columns):
        labels[:, index] = _dense(column, frame[column], where)
    return Assignments(clip_ids, labels, columns)
