"""One fetched video: probe it, apply the filters, hash it, find its clip windows.

The result is a ``videos`` row in the making (``Inspected.row``) plus the local files it
came from; a failure at any step ends as that row's status and reason, never an exception.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from acav_assets.core.media.clips import (
    ClipWindow,
    manifest_windows,
    middle_windows,
    shot_windows,
    uniform_windows,
)
from acav_assets.core.media.probe import ProbeError, file_sha256, probe_video, verify_tail
from acav_assets.core.media.shots import find_shots
from acav_assets.core.reasons import Reason
from acav_assets.core.storage import StorageRoot

if TYPE_CHECKING:
    from acav_assets.core.media.ingest import IngestOptions

log = logging.getLogger(__name__)

_FILTERED = {
    Reason.NO_AUDIO_STREAM,
    Reason.NO_VIDEO_STREAM,
    Reason.TOO_SHORT,
    Reason.TOO_LONG,
    Reason.TOO_SMALL,
}


@dataclass
class Inspected:
    """A video's ``videos`` row, its local files and, for downloaded sections, their windows."""

    row: dict
    paths: list[str] = field(default_factory=list)
    sections: list[tuple[float, float]] | None = None
    downloaded: bool = False
    reused: bool = False
    windows: list[tuple[float, float]] = field(default_factory=list)
    remote: dict[str, str] = field(default_factory=dict)

    @classmethod
    def failure(cls, video: dict, reason: Reason, detail: str) -> Inspected:
        inspected = cls(row=_base_row(video))
        inspected.mark(reason, detail)
        return inspected

    def mark(self, reason: Reason, detail: str) -> None:
        if reason == Reason.DUPLICATE_CONTENT:
            status = "duplicate"
        elif reason == Reason.DEFERRED:
            status = "deferred"
        else:
            status = "filtered" if reason in _FILTERED else "failed"
        self.row.update(status=status, reason=str(reason), detail=detail[:1000])

    def publish(self, root: StorageRoot, shard: str) -> None:
        """Copy downloaded files to a remote root and point the row at them."""
        for local in self.paths if self.downloaded or self.reused else []:
            if self.row.get("url") is None:
                continue  # local sources are read in place
            target = root.path("media", shard, os.path.basename(local))
            if not root.fs.exists(target):
                root.fs.put(local, target)
            self.remote[local] = root.uri("media", shard, os.path.basename(local))
        if self.row.get("path") in self.remote:
            self.row["path"] = self.remote[self.row["path"]]


def _base_row(video: dict) -> dict:
    return {
        "video_id": video["video_id"],
        "source": video["source"],
        "url": video["url"],
        "path": video["path"],
        "status": "ok",
        "reason": None,
        "detail": None,
    }


def _filter_reason(
    has_audio: bool, has_video: bool, height: int | None, duration: float | None, options
) -> tuple[Reason, str] | None:
    if options.require_video and not has_video:
        return Reason.NO_VIDEO_STREAM, "no video stream"
    if options.require_audio and not has_audio:
        return Reason.NO_AUDIO_STREAM, "no audio stream"
    if options.min_height is not None and (height or 0) < options.min_height:
        return Reason.TOO_SMALL, f"height {height} < {options.min_height}"
    if duration is not None and duration < options.min_duration_s:
        return Reason.TOO_SHORT, f"{duration:.2f} s < {options.min_duration_s} s"
    if duration is not None and duration > options.max_duration_s:
        return Reason.TOO_LONG, f"{duration:.2f} s > {options.max_duration_s} s"
    return None


def inspect_video(
    video: dict,
    paths: list[str],
    sections: list[tuple[float, float]] | None,
    duration_s: float | None,
    reused: bool,
    options: IngestOptions,
) -> Inspected:
    """Probe, check and hash a fetched video. ``duration_s`` is the whole video's length
    when only ``sections`` were downloaded (``None`` if unknown: no duration filter)."""
    inspected = Inspected(
        row=_base_row(video) | {"path": paths[0]},
        paths=paths,
        sections=sections,
        downloaded=video["path"] is None and not reused,
        reused=video["path"] is None and reused,
        windows=[(s, e) for s, e in video["windows"] if s is not None],
    )
    try:
        probe = probe_video(paths[0])
        if options.verify_tail:
            for path in paths:
                verify_tail(path)
    except ProbeError as error:
        if error.detail == "empty file":
            reason = Reason.EMPTY_FILE
        elif error.detail.startswith("truncated"):
            reason = Reason.TRUNCATED
        else:
            reason = Reason.PROBE_ERROR
        inspected.mark(reason, error.detail)
        return inspected
    duration = probe.duration_s if sections is None else duration_s
    inspected.row.update(
        duration_s=duration,
        width=probe.width,
        height=probe.height,
        fps=probe.fps,
        has_audio=probe.has_audio,
        has_video=probe.has_video,
        audio_rate=probe.audio_rate,
        bytes=sum(os.path.getsize(p) for p in paths),
        sha256=file_sha256(paths),
    )
    rejected = _filter_reason(probe.has_audio, probe.has_video, probe.height, duration, options)
    if rejected is not None:
        inspected.mark(*rejected)
    return inspected


def clip_windows(
    inspected: Inspected, options: IngestOptions
) -> list[tuple[ClipWindow, str, float]]:
    """Each clip window with the file that holds it and where in that file it starts."""
    row = inspected.row
    duration = row["duration_s"]
    given = inspected.windows
    if inspected.sections is not None:
        return [
            (ClipWindow(s, e, "manifest"), path, 0.0)
            for (s, e), path in zip(inspected.sections, inspected.paths, strict=True)
        ]
    path = inspected.paths[0]
    if given:
        windows = manifest_windows(given, duration)
    elif options.clip_strategy == "middle":
        windows = middle_windows(duration, options.clip_seconds)
    elif options.clip_strategy == "uniform":
        windows = uniform_windows(duration, options.clips_per_video, options.clip_seconds)
    else:
        try:
            shots = find_shots(
                path,
                options.shot_threshold,
                duration_s=duration,
                min_shot_s=options.clip_seconds,
                min_shots=options.clips_per_video,
            )
        except (ValueError, RuntimeError) as error:
            log.warning("shot detection failed on %s, using the middle: %s", path, error)
            shots = []
        windows = shot_windows(shots, duration, options.clips_per_video, options.clip_seconds)
    return [(w, path, w.start_s) for w in windows]
