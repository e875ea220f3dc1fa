"""Embedding one shard of clip windows with one extractor.

Decoding runs in DataLoader worker processes while the network runs in this one; pinned
memory and the GPU are used when there is one. Every clip gets a status row; the decoded
ones also get one pooled embedding per layer.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import torch
from torch.utils.data import DataLoader

from acav_assets.core.catalog.schemas import TABLE_SCHEMAS
from acav_assets.core.features.base import Extractor
from acav_assets.core.features.decode import ClipWindowDataset, DecodedClip, collate_clips
from acav_assets.core.reasons import Reason

log = logging.getLogger(__name__)

CLIP_COLUMNS = ("clip_id", "path", "start_s", "end_s")
SILENT_RMS = 1e-3  # about -60 dBFS
FROZEN_DIFF = 2e-3  # mean absolute luma change between sampled frames
BLACK_LUMA = 0.04  # about 10 / 255


@dataclass
class ExtractionResult:
    """``status``: one row per clip in the ``embeddings`` table schema; ``failed`` rows carry
    the reason they have no embedding, ``ok`` rows may carry a content warning
    (``silent_audio``, ``black_video``, ``frozen_video``) next to the measures behind it.
    ``embeddings``: layer index -> (clip ids, float16 ``(n_ok, dim)``) of the ``ok`` clips."""

    status: pl.DataFrame
    embeddings: dict[int, tuple[list[str], np.ndarray]]
    counters: dict[str, float] = field(default_factory=dict)


def _flag(clip: DecodedClip) -> Reason | None:
    """A content warning for an embedded clip, for the checks and filters downstream."""
    if clip.audio_rms is not None and clip.audio_rms < SILENT_RMS:
        return Reason.SILENT_AUDIO
    if clip.frame_luma is not None and clip.frame_luma < BLACK_LUMA:
        return Reason.BLACK_VIDEO
    if clip.frame_diff is not None and clip.frame_diff < FROZEN_DIFF:
        return Reason.FROZEN_VIDEO
    return None


def _validate_clips(clips: pl.DataFrame) -> None:
    missing = [c for c in CLIP_COLUMNS if c not in clips.columns]
    if missing:
        raise ValueError(f"clips lack columns {missing}; need {list(CLIP_COLUMNS)}")
    duplicated = clips.filter(pl.col("clip_id").is_duplicated())["clip_id"].unique().to_list()
    if duplicated:
        raise ValueError(f"clip ids occur more than once: {sorted(duplicated)[:5]}")


def extract_shard(
    clips: pl.DataFrame,
    extractor: Extractor,
    *,
    batch_size: int = 16,
    num_workers: int = 1,
    device: str | None = "auto",
    progress: Callable[[int, int], None] | None = None,
    run_id: str | None = None,
) -> ExtractionResult:
    """Embed every clip window of ``clips`` (columns clip_id, path, start_s, end_s).

    ``device`` overrides the extractor's own (``None`` keeps it); ``progress(done, total)`` is
    called after each batch. A clip that cannot be decoded is a failed status row, never an
    exception.
    """
    _validate_clips(clips)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if num_workers < 0:
        raise ValueError(f"num_workers must be >= 0, got {num_workers}")
    if device is not None:
        extractor = extractor.on(device)
    began = time.perf_counter()
    extractor.load()
    version = extractor.version
    ids = clips["clip_id"].cast(pl.String).to_list()
    dataset = ClipWindowDataset(
        clips["path"].cast(pl.String).to_list(),
        clips["start_s"].cast(pl.Float64).to_list(),
        clips["end_s"].cast(pl.Float64).to_list(),
        extractor,
    )
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        num_workers=num_workers,
        collate_fn=collate_clips,
        pin_memory=extractor.resolved_device.type == "cuda",
        prefetch_factor=2 if num_workers else None,
    )
    records: list[DecodedClip] = []
    layer_rows: list[list[np.ndarray]] = [[] for _ in extractor.layers]
    ok_ids: list[str] = []
    model_seconds = 0.0
    for batch_records, inputs in loader:
        records.extend(batch_records)
        if inputs is not None:
            tick = time.perf_counter()
            arrays = _embed(extractor, inputs)
            model_seconds += time.perf_counter() - tick
            for rows, array in zip(layer_rows, arrays, strict=True):
                rows.append(array.astype(np.float16))
            ok_ids.extend(ids[r.index] for r in batch_records if r.reason is None)
        if progress is not None:
            progress(len(records), len(ids))
    embeddings = {
        i: (list(ok_ids), np.concatenate(rows) if rows else np.zeros((0, dim), np.float16))
        for i, (rows, (_, dim)) in enumerate(zip(layer_rows, extractor.layers, strict=True))
    }
    status = _status_frame(records, ids, extractor.name, version, run_id)
    counts = Counter(f"failed_{r.reason}" for r in records if r.reason is not None)
    counters = {
        "total": len(records),
        "ok": len(ok_ids),
        **counts,
        "flagged": int(status.filter(pl.col("status") == "ok")["reason"].is_not_null().sum()),
        "seconds": time.perf_counter() - began,
        "decode_seconds": sum(r.decode_seconds for r in records),
        "model_seconds": model_seconds,
    }
    if counts:
        failed = sum(counts.values())
        log.warning(
            "%s: %d of %d clips not decoded: %s", extractor.name, failed, len(records), dict(counts)
        )
    return ExtractionResult(status=status, embeddings=embeddings, counters=counters)


def _embed(extractor: Extractor, inputs: torch.Tensor | list[torch.Tensor]) -> list[np.ndarray]:
    """One batch through the network; clips of different shapes go one at a time."""
    if isinstance(inputs, torch.Tensor):
        return extractor.embed(inputs)
    per_clip = [extractor.embed(x.unsqueeze(0)) for x in inputs]
    return [np.concatenate(layer) for layer in zip(*per_clip, strict=True)]


def _status_frame(
    records: list[DecodedClip], ids: list[str], name: str, version: str, run_id: str | None
) -> pl.DataFrame:
    rows = [
        {
            "clip_id": ids[r.index],
            "extractor": name,
            "extractor_version": version,
            "status": "ok" if r.reason is None else "failed",
            "reason": str(r.reason or _flag(r) or "") or None,
            "detail": r.detail,
            "audio_rms": r.audio_rms,
            "frame_diff": r.frame_diff,
            "frame_luma": r.frame_luma,
            "run_id": run_id,
        }
        for r in records
    ]
    schema = pl.from_arrow(TABLE_SCHEMAS["embeddings"].empty_table()).schema
    return pl.DataFrame(rows, schema=schema)
