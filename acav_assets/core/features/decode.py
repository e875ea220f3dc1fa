"""Decoding clip windows with torchcodec: each video is scanned and opened once for all of
its windows.

Frames are sampled one per equal slice of the window, and within its slice the frame that is
cheapest to decode (a keyframe, or the one the decoder reaches first): an H.264 frame costs
every frame from its keyframe to it, so sampling the slice centres decoded three quarters of
the window. Each clip becomes the extractors' inputs plus quality measures (audio RMS level,
frame difference, mean luma) or a reason code: a clip that cannot be decoded is data.

torchcodec is given an open file, not a path: ffmpeg then reads that file through it and
cannot open any other (a playlist that names files or URLs finds none), the same guard as
the protocol whitelist of acav's own ffmpeg calls. Frames are found by their timestamps
(``seek_mode="exact"``): approximate mode turns a timestamp into a frame index with the
header's frame rate, which names frames a variable-frame-rate video does not have
("Invalid frame index=467 ... must be less than 460").
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import torch
import torch.nn.functional as F
from torchcodec.decoders import AudioDecoder, Demuxer, FrameIndex, VideoDecoder

from acav_assets.core.features.base import Extractor
from acav_assets.core.reasons import Reason

MEASURE_SIZE = 64  # frames are measured on a pixel grid at least this many rows high
WINDOWS_PER_ITEM = 8  # windows of one video decoded together: bounds a work item's memory


class ClipDecodeError(Exception):
    """A clip window that cannot become network input; carries its reason code."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class DecodedClip:
    """One clip for one extractor after decoding: the prepared input, or the reason it has
    none."""

    index: int
    data: torch.Tensor | None
    reason: Reason | None = None
    detail: str | None = None
    audio_rms: float | None = None
    frame_diff: float | None = None
    frame_luma: float | None = None
    decode_seconds: float = 0.0


@dataclass(frozen=True)
class VideoItem:
    """Windows of one video decoded together: ``indices`` into the clip table, in the order
    of their ``starts``."""

    path: str
    indices: tuple[int, ...]
    starts: tuple[float, ...]
    ends: tuple[float, ...]


def group_windows(paths: list[str], starts: list[float], ends: list[float]) -> list[VideoItem]:
    """Windows grouped by video (first appearance order), sorted by start within a video, at
    most ``WINDOWS_PER_ITEM`` to an item."""
    by_path: dict[str, list[int]] = {}
    for index, path in enumerate(paths):
        by_path.setdefault(path, []).append(index)
    items = []
    for path, indices in by_path.items():
        indices.sort(key=lambda i: (starts[i], ends[i], i))
        for first in range(0, len(indices), WINDOWS_PER_ITEM):
            chunk = indices[first : first + WINDOWS_PER_ITEM]
            items.append(
                VideoItem(
                    path,
                    tuple(chunk),
                    tuple(starts[i] for i in chunk),
                    tuple(ends[i] for i in chunk),
                )
            )
    return items


def _gop_starts(is_key: np.ndarray) -> np.ndarray:
    """For each frame, the index of the keyframe decoding starts from (0 before the first)."""
    return np.maximum.accumulate(np.where(is_key, np.arange(len(is_key)), 0))


def plan_frames(
    pts: np.ndarray,
    is_key: np.ndarray,
    start_s: float,
    end_s: float,
    num_frames: int,
) -> list[int]:
    """Indices (presentation order) of the ``num_frames`` frames to sample from
    ``[start_s, end_s)``: slice ``i`` of ``num_frames`` equal slices gives, among the frames
    on screen during it, the one cheapest to reach from the frame sampled before (none for
    the first slice), ties going to the frame that starts nearest the slice centre. Reaching
    frame ``f`` costs ``f - last`` frames when the decoder can go on from ``last`` (no
    keyframe between them), else ``f - keyframe + 1``. ``pts`` must be sorted."""
    gop = _gop_starts(is_key)
    step = (end_s - start_s) / num_frames
    chosen: list[int] = []
    last = -1
    for i in range(num_frames):
        low, centre = start_s + i * step, start_s + (i + 0.5) * step
        # the frame on screen when the slice begins, then those that start inside it
        first = int(np.searchsorted(pts, low, side="right")) - 1
        stop = int(np.searchsorted(pts, low + step, side="left"))
        frames = np.arange(max(first, 0), max(stop, 1))
        go_on = (gop[frames] == gop[last]) & (frames >= last) if last >= 0 else False
        cost = np.where(go_on, frames - last, frames - gop[frames] + 1)
        order = np.lexsort((np.abs(pts[frames] - centre), cost))
        last = int(frames[order[0]])
        chosen.append(last)
    return chosen


def sample_video(
    path: str, windows: list[tuple[float, float]], num_frames: int, device: str = "cpu"
) -> list[torch.Tensor | ClipDecodeError]:
    """uint8 ``(num_frames, 3, H, W)`` for each window of one video, or the error that
    window met. The video is scanned once (packets only, no decoding) for its keyframes, and
    one decoder goes through the planned frames of every window; windows sorted by start let
    it go on from one window into the next."""
    try:
        _check_file(path)
        with open(path, "rb") as source:
            index = Demuxer(source, streams="video").streams[0].scan()
        with open(path, "rb") as source:
            return _sample_frames(source, index, windows, num_frames, device)
    except ClipDecodeError as error:
        return [error] * len(windows)
    except (RuntimeError, ValueError, OSError) as error:
        return [_failure(error, "video")] * len(windows)


def _sample_frames(
    source: BinaryIO,
    index: FrameIndex,
    windows: list[tuple[float, float]],
    num_frames: int,
    device: str,
) -> list[torch.Tensor | ClipDecodeError]:
    decoder = VideoDecoder(source, seek_mode="exact", num_ffmpeg_threads=1, device=device)
    pts = index.pts_seconds.numpy()
    is_key = index.is_key_frame.numpy()
    # a frame is asked for by the middle of its display time, which only it covers
    middle = pts + index.duration_seconds.numpy() / 2
    end_of_stream = index.end_stream_seconds_from_content
    results: list[torch.Tensor | ClipDecodeError] = []
    for start_s, end_s in windows:
        if not end_s > start_s >= 0:
            results.append(_empty_window(start_s, end_s))
            continue
        if len(pts) == 0 or start_s >= end_of_stream:
            results.append(
                ClipDecodeError(
                    Reason.WINDOW_OUT_OF_RANGE,
                    f"window starts at {start_s}s, video lasts {end_of_stream}s",
                )
            )
            continue
        # planned from a fresh decoder: a clip's frames never depend on its neighbours
        frames = plan_frames(pts, is_key, start_s, min(end_s, end_of_stream), num_frames)
        try:
            results.append(decoder.get_frames_played_at(seconds=middle[frames].tolist()).data)
        except (RuntimeError, IndexError, ValueError, OSError) as error:
            results.append(_failure(error, "video"))
    return results


def sample_audio(
    path: str, windows: list[tuple[float, float]], sample_rate: int
) -> list[torch.Tensor | ClipDecodeError]:
    """Mono float32 waveform in [-1, 1] for each window of one video, exactly
    ``round((end_s - start_s) * sample_rate)`` samples (a window that runs past the end of
    the stream is padded with silence), or the error that window met. Each window gets a
    fresh decoder (7 ms): a lossy codec and its resampler carry state across a seek, which
    would make a window's samples depend on the window decoded before it."""
    try:
        _check_file(path)
    except ClipDecodeError as error:
        return [error] * len(windows)
    results: list[torch.Tensor | ClipDecodeError] = []
    for start_s, end_s in windows:
        if not end_s > start_s >= 0:
            results.append(_empty_window(start_s, end_s))
            continue
        try:
            with open(path, "rb") as source:
                decoder = AudioDecoder(source, sample_rate=sample_rate, num_channels=1)
                samples = decoder.get_samples_played_in_range(start_s, end_s).data
        except (RuntimeError, ValueError, OSError) as error:
            results.append(_failure(error, "audio"))
            continue
        wave = samples.mean(dim=0) if samples.ndim == 2 else samples
        if wave.numel() == 0:
            results.append(
                ClipDecodeError(Reason.WINDOW_OUT_OF_RANGE, f"no audio in [{start_s}, {end_s})")
            )
            continue
        expected = round((end_s - start_s) * sample_rate)
        if wave.numel() < expected:
            wave = F.pad(wave, (0, expected - wave.numel()))
        results.append(wave[:expected].float().contiguous())
    return results


def decode_frames(path: str, start_s: float, end_s: float, num_frames: int) -> torch.Tensor:
    """uint8 ``(num_frames, 3, H, W)`` sampled over ``[start_s, end_s)`` (see
    :func:`plan_frames`); raises :class:`ClipDecodeError`."""
    return _unwrap(sample_video(path, [(start_s, end_s)], num_frames)[0])


def decode_audio(path: str, start_s: float, end_s: float, sample_rate: int) -> torch.Tensor:
    """One window of :func:`sample_audio`; raises :class:`ClipDecodeError`."""
    return _unwrap(sample_audio(path, [(start_s, end_s)], sample_rate)[0])


def _unwrap(result: torch.Tensor | ClipDecodeError) -> torch.Tensor:
    if isinstance(result, ClipDecodeError):
        raise result
    return result


def _failure(error: Exception, modality: str) -> ClipDecodeError:
    """A torchcodec error as a reason code: a missing stream, an empty window, or neither."""
    message = str(error)
    if f"best {modality} stream is unknown" in message or (
        f"No valid {modality} stream" in message
    ):
        reason = Reason.NO_AUDIO_STREAM if modality == "audio" else Reason.NO_VIDEO_STREAM
    elif "frames were decoded" in message:
        reason = Reason.WINDOW_OUT_OF_RANGE
    else:
        reason = Reason.DECODE_ERROR
    return ClipDecodeError(reason, " ".join(message.split())[:500])


def _check_file(path: str) -> None:
    if not os.path.isfile(path):
        raise ClipDecodeError(Reason.FILE_NOT_FOUND, f"{path} does not exist")


def _empty_window(start_s: float, end_s: float) -> ClipDecodeError:
    return ClipDecodeError(Reason.WINDOW_OUT_OF_RANGE, f"window [{start_s}, {end_s}) is empty")


def audio_rms(wave: torch.Tensor) -> float:
    """Root-mean-square level of a waveform in [-1, 1] (0 is digital silence); summed by
    numpy, whose order does not depend on torch's thread count."""
    samples = wave.detach().cpu().numpy().astype(np.float64)
    return float(np.sqrt(np.mean(np.square(samples))))


def frame_measures(frames: torch.Tensor) -> tuple[float, float]:
    """``(frame_diff, frame_luma)`` of uint8 ``(T, 3, H, W)`` frames, both in [0, 1]: the mean
    absolute luma change between consecutive sampled frames (0 for a frozen picture) and the
    mean luma (0 for black). Summed by numpy (see :func:`audio_rms`)."""
    step = max(1, min(frames.shape[-2:]) // MEASURE_SIZE)  # a pixel grid is enough for means
    rgb = frames[:, :, ::step, ::step].cpu().numpy().astype(np.float64) / 255.0
    luma = 0.299 * rgb[:, 0] + 0.587 * rgb[:, 1] + 0.114 * rgb[:, 2]
    diff = np.abs(luma[1:] - luma[:-1]).mean() if luma.shape[0] > 1 else 0.0
    return float(diff), float(luma.mean())


class VideoWindowsDataset(torch.utils.data.Dataset):
    """Each item is one video's windows decoded once per modality and prepared for every
    extractor; runs in DataLoader workers (or decoding threads on a GPU)."""

    def __init__(
        self, items: list[VideoItem], extractors: list[Extractor], device: str = "cpu"
    ) -> None:
        self.items = items
        self.extractors = extractors
        self.device = device

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, position: int) -> dict[str, list[DecodedClip]]:
        item = self.items[position]
        windows = list(zip(item.starts, item.ends, strict=True))
        decoded: dict[tuple, tuple[list, float]] = {}
        out = {}
        for extractor in self.extractors:
            spec = extractor.input
            key = (extractor.modality, spec.sample_rate, spec.num_frames)
            if key not in decoded:  # extractors that want the same media share one decode
                began = time.perf_counter()
                if extractor.modality == "audio":
                    media = sample_audio(item.path, windows, spec.sample_rate)
                else:
                    media = sample_video(item.path, windows, spec.num_frames, self.device)
                decoded[key] = (media, time.perf_counter() - began)
            media, seconds = decoded[key]
            out[extractor.name] = [
                _prepare(extractor, index, m, seconds / len(windows))
                for index, m in zip(item.indices, media, strict=True)
            ]
        return out


def _prepare(
    extractor: Extractor, index: int, media: torch.Tensor | ClipDecodeError, seconds: float
) -> DecodedClip:
    """The clip's record for one extractor: measures and network input, or its reason."""
    began = time.perf_counter()
    clip = DecodedClip(index=index, data=None)
    if isinstance(media, ClipDecodeError):
        clip.reason, clip.detail = media.reason, media.detail
    else:
        try:
            if extractor.modality == "audio":
                clip.audio_rms = audio_rms(media)
            else:
                clip.frame_diff, clip.frame_luma = frame_measures(media)
            clip.data = extractor.prepare(media)
        except ValueError as error:  # prepare() refused the media: a window too short for it
            clip.data, clip.reason, clip.detail = None, Reason.TOO_SHORT, str(error)[:500]
    clip.decode_seconds = seconds + time.perf_counter() - began
    return clip
