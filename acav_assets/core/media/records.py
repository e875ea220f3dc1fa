"""Typed records of the media domain, passed between the ingest phases instead of dicts.

A ``SourceVideo`` is what a shard's sources say about one video; a ``VideoRecord`` is its row
of table ``videos`` in the making, with the local files it was read from; a ``ClipRecord`` is
one clip window of a kept video and the file that holds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from acav_assets.core.media.clips import ClipWindow, clip_id
from acav_assets.core.media.probe import VideoProbe
from acav_assets.core.reasons import Reason
from acav_assets.core.redaction import redact, redact_optional

# Reasons that drop a readable video by a filter rather than a failure to read it.
FILTER_REASONS = frozenset(
    {
        Reason.NO_AUDIO_STREAM,
        Reason.NO_VIDEO_STREAM,
        Reason.TOO_SHORT,
        Reason.TOO_LONG,
        Reason.TOO_SMALL,
    }
)
DETAIL_LIMIT = 1000


@dataclass(frozen=True)
class SourceVideo:
    """One video of a shard: where to get it and the windows its manifest gives."""

    video_id: str
    source: str
    url: str | None
    path: str | None
    windows: tuple[tuple[float, float], ...] = ()
    previous_duration_s: float | None = None  # what an earlier run measured
    # an earlier run's permanent failure (reasons.PERMANENT): the video is not asked again
    final: tuple[Reason, str] | None = None

    @property
    def is_local(self) -> bool:
        return self.path is not None


@dataclass
class VideoRecord:
    """A video's ``videos`` row in the making and the local files behind it.

    ``files`` are the whole video, or one file per downloaded window (``sections``);
    ``published`` maps a local file to its copy in a remote storage root.
    """

    video: SourceVideo
    status: str = "ok"
    reason: str | None = None
    detail: str | None = None
    files: list[str] = field(default_factory=list)
    sections: list[tuple[float, float]] | None = None
    duration_s: float | None = None
    probe: VideoProbe | None = None
    bytes: int | None = None
    sha256: str | None = None
    downloaded: bool = False
    reused: bool = False
    published: dict[str, str] = field(default_factory=dict)

    @classmethod
    def failure(cls, video: SourceVideo, reason: Reason, detail: str) -> VideoRecord:
        record = cls(video)
        record.mark(reason, detail)
        return record

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def mark(self, reason: Reason, detail: str) -> None:
        """Drop the video with ``reason``: a duplicate, deferred, filtered, or failed."""
        if reason == Reason.DUPLICATE_CONTENT:
            self.status = "duplicate"
        elif reason == Reason.DEFERRED:
            self.status = "deferred"
        else:
            self.status = "filtered" if reason in FILTER_REASONS else "failed"
        self.reason, self.detail = str(reason), redact(detail)[:DETAIL_LIMIT]

    @property
    def path(self) -> str | None:
        """The file this row names: the video read in place, or the (published) download."""
        if not self.files:
            return self.video.path
        return self.published.get(self.files[0], self.files[0])

    def row(self) -> dict[str, Any]:
        """The columns of table ``videos`` this record fills (the URL without credentials:
        the manifest's own in ``sources`` is what a download uses)."""
        probe = self.probe
        return {
            "video_id": self.video.video_id,
            "source": self.video.source,
            "url": redact_optional(self.video.url),
            "path": self.path,
            "status": self.status,
            "reason": self.reason,
            "detail": self.detail,
            "duration_s": self.duration_s,
            "width": probe.width if probe else None,
            "height": probe.height if probe else None,
            "fps": probe.fps if probe else None,
            "has_audio": probe.has_audio if probe else None,
            "has_video": probe.has_video if probe else None,
            "audio_rate": probe.audio_rate if probe else None,
            "bytes": self.bytes,
            "sha256": self.sha256,
        }


@dataclass(frozen=True)
class ClipRecord:
    """One clip window of a kept video, the file that holds it, and where in that file it
    starts (the video itself: at ``start_s``; a downloaded section: at 0)."""

    video_id: str
    window: ClipWindow
    media_path: str
    media_start_s: float

    @property
    def clip_id(self) -> str:
        return clip_id(self.video_id, self.window.start_s)

    def row(self) -> dict[str, Any]:
        """The columns of table ``clips`` this record fills."""
        return {
            "clip_id": self.clip_id,
            "video_id": self.video_id,
            "start_s": self.window.start_s,
            "end_s": self.window.end_s,
            "strategy": self.window.strategy,
            "media_path": self.media_path,
            "media_start_s": self.media_start_s,
        }
