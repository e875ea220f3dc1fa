"""One fetched video: probe it, check that its end decodes, hash it, apply the filters.

A failure at any step ends as the record's status and reason, never an exception. A
download that fails the probe or the tail check is deleted, so the next run fetches it
again instead of reusing a bad file forever.
"""

from __future__ import annotations

import contextlib
import logging
import os

from acav_assets.core.media.options import IngestOptions
from acav_assets.core.media.probe import (
    ProbeError,
    VideoProbe,
    file_sha256,
    probe_video,
    verify_tail,
)
from acav_assets.core.media.records import VideoRecord
from acav_assets.core.reasons import Reason

log = logging.getLogger(__name__)


def filter_reason(
    probe: VideoProbe, duration_s: float | None, options: IngestOptions
) -> tuple[Reason, str] | None:
    """Why the filters drop a readable video, or ``None`` to keep it."""
    if options.require_video and not probe.has_video:
        return Reason.NO_VIDEO_STREAM, "no video stream"
    if options.require_audio and not probe.has_audio:
        return Reason.NO_AUDIO_STREAM, "no audio stream"
    if options.min_height is not None and (probe.height or 0) < options.min_height:
        return Reason.TOO_SMALL, f"height {probe.height} < {options.min_height}"
    if duration_s is not None and duration_s < options.min_duration_s:
        return Reason.TOO_SHORT, f"{duration_s:.2f} s < {options.min_duration_s} s"
    if duration_s is not None and duration_s > options.max_duration_s:
        return Reason.TOO_LONG, f"{duration_s:.2f} s > {options.max_duration_s} s"
    return None


def _discard_download(record: VideoRecord) -> None:
    """Delete a downloaded file that is not a usable video; the row keeps no path to it."""
    if record.video.is_local:
        return
    for path in record.files:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
    log.info("deleted the unusable download of %s: %s", record.video.video_id, record.reason)
    record.files, record.published = [], {}


def inspect_video(record: VideoRecord, options: IngestOptions) -> VideoRecord:
    """Probe, check and hash ``record``'s files and apply the filters, in place.

    For downloaded sections the whole video's length is ``record.duration_s`` as the fetch
    reported it (``None`` if unknown: then no duration filter); otherwise the probe's.
    """
    try:
        probes = [probe_video(path) for path in record.files]
        if options.verify_tail:
            for path, each in zip(record.files, probes, strict=True):
                verify_tail(path, each)
    except ProbeError as error:
        record.mark(error.reason, error.detail)
        _discard_download(record)
        return record
    probe = probes[0]
    record.probe = probe
    if record.sections is None:
        record.duration_s = probe.duration_s
        if probe.duration_s is None:
            record.mark(Reason.NO_DURATION, "neither the container nor its packets tell a length")
            return record
    record.bytes = sum(os.path.getsize(p) for p in record.files)
    record.sha256 = file_sha256(record.files)
    rejected = filter_reason(probe, record.duration_s, options)
    if rejected is not None:
        record.mark(*rejected)
    return record
