"""VGGish, the audio network ACAV100M used: four conv blocks and the 128-d embedding.

The log-mel front end follows the reference ``vggish_input``/``mel_features`` exactly:
16 kHz mono, 25 ms periodic-Hann windows every 10 ms, 512-point FFT magnitude, 64 HTK mel
bands from 125 to 7500 Hz, ``log(mel + 0.01)``, cut into non-overlapping 0.96 s patches of
96 x 64. Weights are a PyTorch state dict in the layout of the common port (keys
``features.*`` and ``embeddings.*``), from a file or a URL.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import nn

from acav_assets.core.features.base import Extractor, InputSpec

SAMPLE_RATE = 16_000
WINDOW_S = 0.025
HOP_S = 0.010
N_MELS = 64
F_MIN, F_MAX = 125.0, 7500.0
LOG_OFFSET = 0.01
PATCH_FRAMES = 96  # 0.96 s
CONV_BLOCKS = ((1, 64), (64, 128), (128, 256, 256), (256, 512, 512))


def hertz_to_mel(hertz: torch.Tensor) -> torch.Tensor:
    """HTK mel scale, as VGGish uses."""
    return 1127.0 * torch.log1p(hertz / 700.0)


def mel_matrix(n_fft_bins: int, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """``(n_fft_bins, 64)`` triangular weights, built in mel space; the DC bin is zeroed."""
    bins_mel = hertz_to_mel(torch.linspace(0.0, sample_rate / 2, n_fft_bins, dtype=torch.float64))
    edges = torch.linspace(
        float(hertz_to_mel(torch.tensor(F_MIN))),
        float(hertz_to_mel(torch.tensor(F_MAX))),
        N_MELS + 2,
        dtype=torch.float64,
    )
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins_mel[:, None] - lower) / (center - lower)
    falling = (upper - bins_mel[:, None]) / (upper - center)
    weights = torch.clamp(torch.minimum(rising, falling), min=0.0)
    weights[0, :] = 0.0
    return weights.float()


def log_mel_patches(wave: torch.Tensor, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """Mono waveform ``(n_samples,)`` in [-1, 1] to ``(n_patches, 96, 64)`` log-mel patches."""
    window = round(WINDOW_S * sample_rate)
    hop = round(HOP_S * sample_rate)
    n_fft = 2 ** math.ceil(math.log2(window))
    if wave.numel() < window:
        raise ValueError(f"waveform of {wave.numel()} samples is shorter than one window")
    frames = wave.double().unfold(0, window, hop)
    hann = 0.5 - 0.5 * torch.cos(2 * math.pi * torch.arange(window, dtype=torch.float64) / window)
    magnitude = torch.fft.rfft(frames * hann, n=n_fft).abs()
    mel = magnitude @ mel_matrix(n_fft // 2 + 1, sample_rate).double()
    log_mel = torch.log(mel + LOG_OFFSET).float()
    n_patches = 1 + (log_mel.shape[0] - PATCH_FRAMES) // PATCH_FRAMES
    if n_patches < 1:
        raise ValueError(f"{log_mel.shape[0]} frames make no {PATCH_FRAMES}-frame patch")
    return log_mel[: n_patches * PATCH_FRAMES].reshape(n_patches, PATCH_FRAMES, N_MELS)


class VGGish(nn.Module):
    """VGGish; ``forward`` returns each conv block's output and the 128-d embedding."""

    def __init__(self) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        self._block_ends = []
        for block in CONV_BLOCKS:
            for c_in, c_out in zip(block[:-1], block[1:], strict=True):
                layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(inplace=True)]
            layers.append(nn.MaxPool2d(2, 2))
            self._block_ends.append(len(layers) - 1)
        self.features = nn.Sequential(*layers)
        self.embeddings = nn.Sequential(
            nn.Linear(512 * 4 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, 128),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in self._block_ends:
                outputs.append(x)
        # flatten in TensorFlow's (H, W, C) order, as the original weights expect
        flat = x.permute(0, 2, 3, 1).flatten(1)
        outputs.append(self.embeddings(flat))
        return outputs


class VGGishExtractor(Extractor):
    """Conv blocks 1-4 (dims 64, 128, 256, 512) pooled over time and frequency, and the
    128-d embedding; all averaged over the clip's 0.96 s patches. Needs ``weights=``."""

    name = "vggish"
    modality = "audio"
    layers: ClassVar = (
        ("block1", 64),
        ("block2", 128),
        ("block3", 256),
        ("block4", 512),
        ("embedding", 128),
    )
    input = InputSpec(sample_rate=SAMPLE_RATE)

    def _build(self, weights_path: str) -> torch.nn.Module:
        model = VGGish()
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
        return model

    def prepare(self, media: torch.Tensor) -> torch.Tensor:
        return log_mel_patches(media.float(), SAMPLE_RATE)

    def _forward(self, module: torch.nn.Module, batch: torch.Tensor) -> list[torch.Tensor]:
        n_clips, n_patches = batch.shape[:2]
        outputs = module(batch.flatten(0, 1).unsqueeze(1))
        pooled = [out.mean(dim=(2, 3)) for out in outputs[:-1]] + [outputs[-1]]
        return [p.view(n_clips, n_patches, -1).mean(dim=1) for p in pooled]
