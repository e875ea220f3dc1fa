"""Shot boundaries with ffmpeg's ``scdet``, as ACAV100M chose where to cut clips, but
thresholded against each frame's surroundings.

One ffmpeg run decodes a downscaled, low-frame-rate copy of the video (B-frames skipped),
scores every sampled frame with ``scdet`` and returns the thumbnails. A frame's cut strength
is its score over the median score of the frames around it, at local peaks only: a moving
scene scores high on every frame, so an absolute threshold either cuts it everywhere or,
raised until the shots are long enough, loses its real cuts too. Raising the threshold
(x1.2 from 1 until three shots of at least 10 s appear, at most 10) is then done on the
stored strengths, without decoding again, and keeps the lowest threshold that gave the most
long shots: a video with fewer long scenes than asked is not raised past its cuts. The
thumbnails give each shot a small signature, so clips can prefer shots that look unlike the
ones already chosen.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field

import numpy as np

from acav_assets.core.media.containers import input_args
from acav_assets.core.media.options import IngestOptions

GROWTH = 1.2
MAX_THRESHOLD = 10.0  # a cut at ten times its surroundings' score is always kept

_FRAME = re.compile(r"^frame:\s*(\d+)\s+pts:\s*\S+\s+pts_time:\s*(\S+)")
_SCORE = re.compile(r"^lavfi\.scd\.score=(\S+)")


@dataclass(frozen=True)
class Shot:
    """A shot ``[start_s, end_s)`` and its signature (mean RGB of a 4x4 grid, 48 floats)."""

    start_s: float
    end_s: float
    signature: np.ndarray = field(repr=False, compare=False)

    @property
    def length_s(self) -> float:
        return self.end_s - self.start_s


def spans_between(cuts: list[float], duration_s: float) -> list[tuple[float, float]]:
    """``[0, duration_s)`` cut at each of ``cuts`` (ascending; those at or past the end
    ignored), empty spans left out."""
    edges = [0.0, *[c for c in cuts if c < duration_s], float(duration_s)]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


def split_at_threshold(
    times: np.ndarray, scores: np.ndarray, duration_s: float, threshold: float
) -> list[tuple[float, float]]:
    """Cut ``[0, duration_s)`` before every sampled frame whose score is >= ``threshold``."""
    cuts = [float(t) for t, s in zip(times, scores, strict=True) if s >= threshold and t > 0]
    return spans_between(cuts, duration_s)


def local_peaks(values: np.ndarray, half_width: int) -> np.ndarray:
    """Whether each value is the highest within ``half_width`` samples either side."""
    padded = np.pad(values, half_width, constant_values=-np.inf)
    window = np.lib.stride_tricks.sliding_window_view(padded, 2 * half_width + 1)
    return values >= window.max(axis=1)


def cut_strength(
    scores: np.ndarray,
    sample_fps: float,
    *,
    context_s: float = 4.0,
    peak_s: float = 1.0,
    floor: float = 1.0,
) -> np.ndarray:
    """Each frame's scdet score over the median score within ``context_s`` either side (at
    least ``floor``, so a still scene's noise does not divide by zero), and 0 unless the
    frame scores highest within ``peak_s`` either side (one cut, not its neighbours)."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        return scores
    half = max(1, round(context_s * sample_fps))
    padded = np.pad(scores, half, mode="edge")
    context = np.median(np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1), axis=1)
    peaks = local_peaks(scores, max(1, round(peak_s * sample_fps)))
    return np.where(peaks, scores / np.maximum(context, floor), 0.0)


def choose_threshold(
    times: np.ndarray,
    scores: np.ndarray,
    duration_s: float,
    threshold: float = IngestOptions.shot_threshold,
    *,
    min_shot_s: float = IngestOptions.clip_seconds,
    min_shots: int = IngestOptions.clips_per_video,
    growth: float = GROWTH,
    max_threshold: float = MAX_THRESHOLD,
) -> tuple[float, list[tuple[float, float]]]:
    """Raise the threshold by ``growth`` until ``min_shots`` shots last ``min_shot_s``; the
    lowest threshold with the most such shots (at most ``min_shots``) and its shots."""
    if threshold <= 0 or growth <= 1 or max_threshold < threshold:
        raise ValueError(
            f"need 0 < threshold <= max_threshold and growth > 1, got threshold={threshold}, "
            f"max_threshold={max_threshold}, growth={growth}"
        )
    best: tuple[int, float, list[tuple[float, float]]] | None = None
    while True:
        shots = split_at_threshold(times, scores, duration_s, threshold)
        n_long = min(sum(b - a >= min_shot_s for a, b in shots), min_shots)
        if best is None or n_long > best[0]:
            best = (n_long, threshold, shots)
        if n_long >= min_shots or threshold >= max_threshold:
            return best[1], best[2]
        threshold = min(threshold * growth, max_threshold)


def _decode_scores(
    path: str, sample_fps: float, size: tuple[int, int], skip_bidir: bool, timeout_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    width, height = size
    with tempfile.TemporaryDirectory(prefix="acav-scdet-") as folder:
        meta = os.path.join(folder, "scores.txt")
        chain = (
            f"fps={sample_fps},scale={width}:{height}:flags=fast_bilinear,"
            f"scdet=threshold=100,metadata=mode=print:file={meta}"
        )
        command = ["ffmpeg", "-nostdin", "-v", "error", "-threads", "1"]
        if skip_bidir:
            command += ["-skip_frame", "bidir"]
        command += [*input_args(path), "-an", "-sn", "-dn", "-vf", chain]
        command += ["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as error:
            raise RuntimeError(f"scdet on {path!r} took more than {timeout_s} s") from error
        if done.returncode != 0:
            tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:]
            raise ValueError(f"cannot decode {path!r} for shots: {' '.join(tail)}")
        times, scores = [], []
        with open(meta, encoding="utf-8") as handle:
            for line in handle:
                if match := _FRAME.match(line):
                    times.append(float(match.group(2)))
                    scores.append(0.0)
                elif (match := _SCORE.match(line)) and scores:
                    scores[-1] = float(match.group(1))
    frames = np.frombuffer(done.stdout, dtype=np.uint8)
    n = min(len(times), frames.size // (width * height * 3))
    frames = frames[: n * width * height * 3].reshape(n, height, width, 3)
    return np.asarray(times[:n]), np.asarray(scores[:n]), frames


def _signatures(frames: np.ndarray, times: np.ndarray, shots: list[tuple[float, float]]):
    n, height, width, _ = frames.shape
    grid = frames[:, : height // 4 * 4, : width // 4 * 4].astype(np.float32)
    grid = grid.reshape(n, 4, height // 4, 4, width // 4, 3).mean(axis=(2, 4)).reshape(n, -1)
    signatures = []
    for start, end in shots:
        inside = (times >= start) & (times < end)
        chosen = grid[inside] if inside.any() else grid[[int(np.argmin(np.abs(times - start)))]]
        signatures.append(chosen.mean(axis=0) / 255.0)
    return signatures


def find_shots(
    path: str | os.PathLike[str],
    threshold: float = IngestOptions.shot_threshold,
    *,
    duration_s: float | None = None,
    min_shot_s: float = IngestOptions.clip_seconds,
    min_shots: int = IngestOptions.clips_per_video,
    growth: float = GROWTH,
    max_threshold: float = MAX_THRESHOLD,
    sample_fps: float = 4.0,
    size: tuple[int, int] = (64, 36),
    skip_bidir: bool = True,
    timeout_s: float = 600.0,
) -> list[Shot]:
    """The shots of a video at the lowest cut-strength threshold (from ``threshold``,
    x``growth``) that yields ``min_shots`` shots of ``min_shot_s``, or the most it can;
    boundaries are accurate to 1/``sample_fps``."""
    path = os.fspath(path)
    if sample_fps <= 0 or min(size) < 4:
        raise ValueError(f"need sample_fps > 0 and size >= (4, 4), got {sample_fps}, {size}")
    times, scores, frames = _decode_scores(path, sample_fps, size, skip_bidir, timeout_s)
    if len(times) == 0:
        raise ValueError(f"no video frames decoded from {path!r}")
    end = duration_s if duration_s is not None else float(times[-1]) + 1.0 / sample_fps
    _, spans = choose_threshold(
        times,
        cut_strength(scores, sample_fps),
        end,
        threshold,
        min_shot_s=min_shot_s,
        min_shots=min_shots,
        growth=growth,
        max_threshold=max_threshold,
    )
    signatures = _signatures(frames, times, spans)
    return [Shot(a, b, s) for (a, b), s in zip(spans, signatures, strict=True)]
