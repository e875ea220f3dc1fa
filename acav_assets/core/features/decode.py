"""Decoding clip windows with torchcodec: seek to the window, never decode the whole video.

Each clip becomes either the extractor's input plus quality measures (audio RMS level,
frame difference, mean luma) or a reason code: a clip that cannot be decoded is data.

torchcodec is given an open file, not a path: ffmpeg then reads that file through it and
cannot open any other (a playlist that names files or URLs finds none), the same guard as
the protocol whitelist of acav's own ffmpeg calls. Frames are found by their timestamps
(``seek_mode="exact"``, one scan of the file's index), not from a nominal frame rate, which
names frames a variable-frame-rate video does not have.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset
from torchcodec.decoders import AudioDecoder, VideoDecoder

from acav_assets.core.features.base import Extractor
from acav_assets.core.reasons import Reason

MEASURE_SIZE = 64  # frames are measured on a pixel grid at least this many rows high


class ClipDecodeError(Exception):
    """A clip window that cannot become network input; carries its reason code."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class DecodedClip:
    """One clip after decoding: the prepared input, or the reason it has none."""

    index: int
    data: torch.Tensor | None
    reason: Reason | None = None
    detail: str | None = None
    audio_rms: float | None = None
    frame_diff: float | None = None
    frame_luma: float | None = None
    decode_seconds: float = 0.0


def sample_times(start_s: float, end_s: float, num_frames: int) -> list[float]:
    """Centres of ``num_frames`` equal slices of the window: uniform, never on its edges."""
    step = (end_s - start_s) / num_frames
    return [start_s + (i + 0.5) * step for i in range(num_frames)]


def _failure(error: Exception, modality: str) -> ClipDecodeError:
    """A torchcodec error as a reason code: a missing stream, an empty window, or neither."""
    message = str(error)
    if f"best {modality} stream is unknown" in message:
        reason = Reason.NO_AUDIO_STREAM if modality == "audio" else Reason.NO_VIDEO_STREAM
    elif "frames were decoded" in message:
        reason = Reason.WINDOW_OUT_OF_RANGE
    else:
        reason = Reason.DECODE_ERROR
    return ClipDecodeError(reason, " ".join(message.split())[:500])


def _check_source(path: str, start_s: float, end_s: float) -> None:
    if not os.path.isfile(path):
        raise ClipDecodeError(Reason.FILE_NOT_FOUND, f"{path} does not exist")
    if not end_s > start_s >= 0:
        raise ClipDecodeError(Reason.WINDOW_OUT_OF_RANGE, f"window [{start_s}, {end_s}) is empty")


def decode_frames(path: str, start_s: float, end_s: float, num_frames: int) -> torch.Tensor:
    """uint8 ``(num_frames, 3, H, W)`` sampled uniformly over ``[start_s, end_s)``."""
    _check_source(path, start_s, end_s)
    with open(path, "rb") as source:
        try:
            decoder = VideoDecoder(source, seek_mode="exact", num_ffmpeg_threads=1)
        except (RuntimeError, ValueError, OSError) as error:
            raise _failure(error, "video") from error
        duration = decoder.metadata.duration_seconds or end_s
        if start_s >= duration:
            raise ClipDecodeError(
                Reason.WINDOW_OUT_OF_RANGE, f"window starts at {start_s}s, video lasts {duration}s"
            )
        last = max(0.0, duration - 1e-3)
        times = [min(t, last) for t in sample_times(start_s, min(end_s, duration), num_frames)]
        try:
            return decoder.get_frames_played_at(seconds=times).data
        except (RuntimeError, IndexError, ValueError, OSError) as error:
            raise _failure(error, "video") from error


def decode_audio(path: str, start_s: float, end_s: float, sample_rate: int) -> torch.Tensor:
    """Mono float32 waveform in [-1, 1] of exactly ``round((end_s - start_s) * sample_rate)``
    samples; a window that runs past the end of the stream is padded with silence."""
    _check_source(path, start_s, end_s)
    try:
        with open(path, "rb") as source:
            decoder = AudioDecoder(source, sample_rate=sample_rate, num_channels=1)
            samples = decoder.get_samples_played_in_range(start_s, end_s).data
    except (RuntimeError, ValueError, OSError) as error:
        raise _failure(error, "audio") from error
    wave = samples.mean(dim=0) if samples.ndim == 2 else samples
    if wave.numel() == 0:
        raise ClipDecodeError(Reason.WINDOW_OUT_OF_RANGE, f"no audio in [{start_s}, {end_s})")
    expected = round((end_s - start_s) * sample_rate)
    if wave.numel() < expected:
        wave = F.pad(wave, (0, expected - wave.numel()))
    return wave[:expected].float().contiguous()


def audio_rms(wave: torch.Tensor) -> float:
    """Root-mean-square level of a waveform in [-1, 1] (0 is digital silence)."""
    return float(wave.double().square().mean().sqrt())


def frame_measures(frames: torch.Tensor) -> tuple[float, float]:
    """``(frame_diff, frame_luma)`` of uint8 ``(T, 3, H, W)`` frames, both in [0, 1]: the mean
    absolute luma change between consecutive sampled frames (0 for a frozen picture) and the
    mean luma (0 for black)."""
    step = max(1, min(frames.shape[-2:]) // MEASURE_SIZE)  # a pixel grid is enough for means
    rgb = frames[:, :, ::step, ::step].float().div(255.0)
    luma = 0.299 * rgb[:, 0] + 0.587 * rgb[:, 1] + 0.114 * rgb[:, 2]
    diff = (luma[1:] - luma[:-1]).abs().mean() if luma.shape[0] > 1 else luma.new_zeros(())
    return float(diff), float(luma.mean())


class ClipWindowDataset(Dataset):
    """Clip windows decoded and prepared for one extractor; runs in DataLoader workers."""

    def __init__(
        self, paths: list[str], starts: list[float], ends: list[float], extractor: Extractor
    ) -> None:
        self.paths = paths
        self.starts = starts
        self.ends = ends
        self.extractor = extractor

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> DecodedClip:
        began = time.perf_counter()
        path, start, end = self.paths[index], self.starts[index], self.ends[index]
        spec = self.extractor.input
        clip = DecodedClip(index=index, data=None)
        try:
            if self.extractor.modality == "audio":
                wave = decode_audio(path, start, end, spec.sample_rate)
                clip.audio_rms = audio_rms(wave)
                clip.data = self.extractor.prepare(wave)
            else:
                frames = decode_frames(path, start, end, spec.num_frames)
                clip.frame_diff, clip.frame_luma = frame_measures(frames)
                clip.data = self.extractor.prepare(frames)
        except ClipDecodeError as error:
            clip.reason, clip.detail = error.reason, error.detail
        except ValueError as error:  # prepare() refused the media: a window too short for it
            clip.data, clip.reason, clip.detail = None, Reason.TOO_SHORT, str(error)[:500]
        clip.decode_seconds = time.perf_counter() - began
        return clip


def collate_clips(
    clips: list[DecodedClip],
) -> tuple[list[DecodedClip], torch.Tensor | list[torch.Tensor] | None]:
    """The batch's records (tensors detached from them) and the inputs of the decoded ones in
    record order: one stacked tensor, or a list when windows of different lengths differ
    in shape."""
    inputs = [clip.data for clip in clips if clip.data is not None]
    for clip in clips:
        clip.data = None
    if not inputs:
        return clips, None
    if all(x.shape == inputs[0].shape for x in inputs):
        return clips, torch.stack(inputs)
    return clips, inputs
