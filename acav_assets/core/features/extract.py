"""Embedding a shard of clip windows with one or more extractors in one pass.

Decoding runs ahead in workers (processes on the CPU, threads feeding NVDEC on a GPU) while
the networks run in this process; pinned memory and half precision are used on a GPU. Every
clip gets a status row per extractor; the decoded ones also get one pooled embedding per
layer.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import torch
from torch.utils.data import DataLoader

from acav_assets.core.catalog.schemas import TABLE_SCHEMAS
from acav_assets.core.features.base import Extractor
from acav_assets.core.features.decode import DecodedClip, VideoWindowsDataset, group_windows
from acav_assets.core.features.options import FeatureOptions
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


def extract_clips(
    clips: pl.DataFrame,
    extractors: list[Extractor],
    *,
    batch_size: int = FeatureOptions.batch_size,
    num_workers: int = FeatureOptions.num_workers,
    device: str | None = FeatureOptions.device,
    progress: Callable[[int, int], None] | None = None,
    run_id: str | None = None,
) -> dict[str, ExtractionResult]:
    """Embed every clip window of ``clips`` (columns clip_id, path, start_s, end_s) with each
    extractor, decoding each video once for all of its windows and extractors.

    ``num_workers`` decoders run beside the networks: worker processes on the CPU, threads
    feeding NVDEC on a GPU. ``device`` overrides the extractors' own (``None`` keeps them);
    ``progress(done, total)`` counts clips. A clip that cannot be decoded is a failed status
    row, never an exception. Results are keyed by extractor name and do not depend on
    ``batch_size`` or ``num_workers``.
    """
    _validate_clips(clips)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if num_workers < 0:
        raise ValueError(f"num_workers must be >= 0, got {num_workers}")
    names = [e.name for e in extractors]
    if not names or len(set(names)) != len(names):
        raise ValueError(f"extractors must be one or more distinct names, got {names}")
    if device is not None:
        extractors = [e.on(device) for e in extractors]
    began = time.perf_counter()
    devices = {e.load().resolved_device for e in extractors}
    on_gpu = len(devices) == 1 and next(iter(devices)).type == "cuda"
    ids = clips["clip_id"].cast(pl.String).to_list()
    items = group_windows(
        clips["path"].cast(pl.String).to_list(),
        clips["start_s"].cast(pl.Float64).to_list(),
        clips["end_s"].cast(pl.Float64).to_list(),
    )
    decode_device = str(next(iter(devices))) if on_gpu else "cpu"
    dataset = VideoWindowsDataset(items, extractors, decode_device)
    runs = {e.name: _NetworkRun(e, batch_size) for e in extractors}
    done = 0
    for decoded in _decode(dataset, num_workers, on_gpu):
        for name, records in decoded.items():
            runs[name].add(records)
        done += len(records)
        if progress is not None:
            progress(done, len(ids))
    seconds = time.perf_counter() - began
    return {name: run.result(ids, run_id, seconds) for name, run in runs.items()}


def extract_shard(
    clips: pl.DataFrame,
    extractor: Extractor,
    *,
    batch_size: int = FeatureOptions.batch_size,
    num_workers: int = FeatureOptions.num_workers,
    device: str | None = FeatureOptions.device,
    progress: Callable[[int, int], None] | None = None,
    run_id: str | None = None,
) -> ExtractionResult:
    """:func:`extract_clips` with one extractor."""
    results = extract_clips(
        clips,
        [extractor],
        batch_size=batch_size,
        num_workers=num_workers,
        device=device,
        progress=progress,
        run_id=run_id,
    )
    return results[extractor.name]


def _as_is(item: dict[str, list[DecodedClip]]) -> dict[str, list[DecodedClip]]:
    return item


def _decode(
    dataset: VideoWindowsDataset, num_workers: int, on_gpu: bool
) -> Iterator[dict[str, list[DecodedClip]]]:
    """The dataset's items in order, decoded ahead by ``num_workers`` while the caller runs
    the networks. On a GPU the decoders are threads (a CUDA context does not survive a
    fork; NVDEC and torch release the GIL while they work)."""
    if not on_gpu:
        yield from DataLoader(
            dataset,
            batch_size=None,
            num_workers=num_workers,
            collate_fn=_as_is,
            prefetch_factor=2 if num_workers else None,
        )
        return
    if num_workers == 0:
        yield from (dataset[i] for i in range(len(dataset)))
        return
    with ThreadPoolExecutor(num_workers, thread_name_prefix="acav-decode") as pool:
        ahead: deque[Future] = deque()
        for position in range(len(dataset)):
            ahead.append(pool.submit(dataset.__getitem__, position))
            if len(ahead) > 2 * num_workers:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()


class _NetworkRun:
    """One extractor's records and its network batches: decoded clips wait until
    ``batch_size`` of them are ready, then go through the network together."""

    def __init__(self, extractor: Extractor, batch_size: int) -> None:
        self.extractor = extractor
        self.batch_size = batch_size
        self.records: list[DecodedClip] = []
        self.waiting: list[DecodedClip] = []
        self.indices: list[int] = []
        self.layer_rows: list[list[np.ndarray]] = [[] for _ in extractor.layers]
        self.model_seconds = 0.0

    def add(self, records: list[DecodedClip]) -> None:
        self.records.extend(records)
        self.waiting.extend(r for r in records if r.data is not None)
        while len(self.waiting) >= self.batch_size:
            batch, self.waiting = self.waiting[: self.batch_size], self.waiting[self.batch_size :]
            self._run(batch)

    def _run(self, batch: list[DecodedClip]) -> None:
        """Clips of one shape go through the network together (windows of other lengths
        make other shapes)."""
        tick = time.perf_counter()
        shapes: dict[tuple[int, ...], list[DecodedClip]] = {}
        for clip in batch:
            shapes.setdefault(tuple(clip.data.shape), []).append(clip)
        pin = self.extractor.resolved_device.type == "cuda"
        for group in shapes.values():
            inputs = torch.stack([clip.data for clip in group])
            if pin and inputs.device.type == "cpu":
                inputs = inputs.pin_memory()
            for rows, array in zip(self.layer_rows, self.extractor.embed(inputs), strict=True):
                rows.append(array.astype(np.float16))
            self.indices.extend(clip.index for clip in group)
            for clip in group:
                clip.data = None
        self.model_seconds += time.perf_counter() - tick

    def result(self, ids: list[str], run_id: str | None, seconds: float) -> ExtractionResult:
        if self.waiting:
            self._run(self.waiting)
            self.waiting = []
        extractor = self.extractor
        order = np.argsort(np.asarray(self.indices, dtype=np.int64), kind="stable")
        ok_ids = [ids[self.indices[i]] for i in order]
        embeddings = {
            i: (
                list(ok_ids),
                np.concatenate(rows)[order] if rows else np.zeros((0, dim), np.float16),
            )
            for i, (rows, (_, dim)) in enumerate(
                zip(self.layer_rows, extractor.layers, strict=True)
            )
        }
        records = sorted(self.records, key=lambda r: r.index)
        status = _status_frame(records, ids, extractor.name, extractor.version, run_id)
        counts = Counter(f"failed_{r.reason}" for r in records if r.reason is not None)
        counters = {
            "total": len(records),
            "ok": len(ok_ids),
            **counts,
            "flagged": int(status.filter(pl.col("status") == "ok")["reason"].is_not_null().sum()),
            "seconds": seconds,
            "decode_seconds": sum(r.decode_seconds for r in records),
            "model_seconds": self.model_seconds,
        }
        if counts:
            log.warning(
                "%s: %d of %d clips not decoded: %s",
                extractor.name,
                sum(counts.values()),
                len(records),
                dict(counts),
            )
        return ExtractionResult(status=status, embeddings=embeddings, counters=counters)


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
