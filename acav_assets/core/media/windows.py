"""Where a kept video's clips lie: the windows its manifest gives, else those the clip
strategy chooses (shots, middle, uniform), each with the file that holds it."""

from __future__ import annotations

import logging

from acav_assets.core.media.clips import (
    ClipWindow,
    manifest_windows,
    middle_windows,
    shot_windows,
    uniform_windows,
)
from acav_assets.core.media.options import IngestOptions
from acav_assets.core.media.records import ClipRecord, VideoRecord
from acav_assets.core.media.shots import find_shots

log = logging.getLogger(__name__)


def _strategy_windows(path: str, duration: float, options: IngestOptions) -> list[ClipWindow]:
    if options.clip_strategy == "middle":
        return middle_windows(duration, options.clip_seconds)
    if options.clip_strategy == "uniform":
        return uniform_windows(duration, options.clips_per_video, options.clip_seconds)
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
    return shot_windows(shots, duration, options.clips_per_video, options.clip_seconds)


def choose_windows(record: VideoRecord, options: IngestOptions) -> list[ClipRecord]:
    """The clip windows of a kept video (``record.ok``), in time order."""
    video_id = record.video.video_id
    if record.sections is not None:
        return [
            ClipRecord(video_id, ClipWindow(s, e, "manifest"), path, 0.0)
            for (s, e), path in zip(record.sections, record.files, strict=True)
        ]
    path = record.files[0]
    duration = record.duration_s
    if record.video.windows:
        windows = manifest_windows(record.video.windows, duration)
    else:
        windows = _strategy_windows(path, duration, options)
    return [ClipRecord(video_id, w, path, w.start_s) for w in windows]
