"""Clip windows: where in a video the 10 s clips of the later stages lie.

A clip is a time window first; a file only where an export asks for one. Strategies:
``shots`` (ACAV100M's default: one clip centred in each of up to three long shots, shots
unlike those already chosen preferred, the centred window when no shot is long enough),
``middle`` (the centred window), ``uniform`` (evenly spaced), and the windows a manifest
gives, which always win.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from acav_assets.core.media.shots import Shot

STRATEGIES = ("shots", "middle", "uniform")


@dataclass(frozen=True)
class ClipWindow:
    start_s: float
    end_s: float
    strategy: str


def clip_id(video_id: str, start_s: float) -> str:
    """Stable across runs: the video id and the start in milliseconds."""
    return f"{video_id}_{round(start_s * 1000)}"


def _centred(centre: float, duration_s: float, clip_seconds: float) -> tuple[float, float]:
    if duration_s <= clip_seconds:
        return 0.0, float(duration_s)
    start = min(max(centre - clip_seconds / 2, 0.0), duration_s - clip_seconds)
    return start, start + clip_seconds


def middle_windows(duration_s: float, clip_seconds: float = 10.0) -> list[ClipWindow]:
    start, end = _centred(duration_s / 2, duration_s, clip_seconds)
    return [ClipWindow(start, end, "middle")]


def uniform_windows(
    duration_s: float, n_clips: int = 3, clip_seconds: float = 10.0
) -> list[ClipWindow]:
    """``n_clips`` windows centred in equal parts of the video, fewer if they would overlap."""
    n = max(1, min(n_clips, math.floor(duration_s / clip_seconds)))
    windows = []
    for i in range(n):
        start, end = _centred(duration_s * (i + 0.5) / n, duration_s, clip_seconds)
        windows.append(ClipWindow(start, end, "uniform"))
    return windows


def pick_diverse(signatures: Sequence[np.ndarray], lengths: Sequence[float], k: int) -> list[int]:
    """Greedy farthest-point choice: the longest first, then the one farthest (by its
    nearest chosen signature, L2) from those already chosen; ties go to the longer."""
    if not signatures or k <= 0:
        return []
    points = np.stack([np.asarray(s, dtype=np.float64) for s in signatures])
    order = sorted(range(len(points)), key=lambda i: (-lengths[i], i))
    chosen = [order[0]]
    nearest = np.linalg.norm(points - points[order[0]], axis=1)
    while len(chosen) < min(k, len(points)):
        best = max(
            (i for i in order if i not in chosen), key=lambda i: (nearest[i], lengths[i], -i)
        )
        chosen.append(best)
        nearest = np.minimum(nearest, np.linalg.norm(points - points[best], axis=1))
    return chosen


def shot_windows(
    shots: Sequence[Shot], duration_s: float, n_clips: int = 3, clip_seconds: float = 10.0
) -> list[ClipWindow]:
    """One window centred in each of up to ``n_clips`` diverse shots of >= ``clip_seconds``."""
    long = [s for s in shots if s.length_s >= clip_seconds]
    if not long:
        return middle_windows(duration_s, clip_seconds)
    picked = pick_diverse([s.signature for s in long], [s.length_s for s in long], n_clips)
    windows = []
    for index in picked:
        shot = long[index]
        start, end = _centred((shot.start_s + shot.end_s) / 2, duration_s, clip_seconds)
        windows.append(ClipWindow(start, end, "shots"))
    return sorted(windows, key=lambda w: w.start_s)


def manifest_windows(
    windows: Sequence[tuple[float, float]], duration_s: float | None = None
) -> list[ClipWindow]:
    """The manifest's windows, deduplicated and sorted; those starting past the end dropped."""
    unique = sorted({(float(s), float(e)) for s, e in windows})
    if duration_s is not None:
        unique = [(s, e) for s, e in unique if s < duration_s]
    return [ClipWindow(s, e, "manifest") for s, e in unique]
