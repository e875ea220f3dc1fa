"""SoundNet (8-layer "sound8"), the offline audio default: conv3 ... conv7 pooled over time.

A port of the original Torch/TensorFlow network to ``torch.nn.Conv1d``. The weights are the
authors' ``sound8.npy`` shipped in the ``soundnet`` package; the package itself needs
TensorFlow 1.x, so only its file is read, never imported.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from torch import nn

from acav_assets.core.features.base import Extractor, InputSpec
from acav_assets.core.features.weights import load_pickled_arrays, packaged_file

SAMPLE_RATE = 22_050
INPUT_SCALE = 256.0  # the net was trained on waveforms in [-256, 256]
# (name, in, out, kernel, stride, padding, max-pool after)
CONVS = (
    ("conv1", 1, 16, 64, 2, 32, 8),
    ("conv2", 16, 32, 32, 2, 16, 8),
    ("conv3", 32, 64, 16, 2, 8, 0),
    ("conv4", 64, 128, 8, 2, 4, 0),
    ("conv5", 128, 256, 4, 2, 2, 4),
    ("conv6", 256, 512, 4, 2, 2, 0),
    ("conv7", 512, 1024, 4, 2, 2, 0),
)
HEADS = (("conv8", 1000), ("conv8_2", 401))  # ImageNet objects and Places scenes from sound


class SoundNet8(nn.Module):
    """The 8-layer SoundNet; ``forward`` returns the post-ReLU output of every conv block."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleDict()
        self.pools = {name: spec[-1] for name, *spec in CONVS}
        for name, c_in, c_out, kernel, stride, padding, _ in CONVS:
            layers: list[nn.Module] = [
                nn.Conv1d(c_in, c_out, kernel, stride, padding),
                nn.BatchNorm1d(c_out, eps=1e-5),
                nn.ReLU(inplace=True),
            ]
            self.blocks[name] = nn.Sequential(*layers)
        self.heads = nn.ModuleDict({name: nn.Conv1d(1024, n, 8, 2) for name, n in HEADS})

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for name, block in self.blocks.items():
            x = block(x)
            outputs.append(x)
            if self.pools[name]:
                x = nn.functional.max_pool1d(x, self.pools[name], self.pools[name], ceil_mode=False)
        return outputs


def state_dict_from_npy(path: str) -> dict[str, torch.Tensor]:
    """``sound8.npy`` as a state dict of :class:`SoundNet8`.

    The file stores conv weights as ``(kernel, 1, in, out)``; Conv1d wants ``(out, in,
    kernel)``. ``var`` is a variance, as BatchNorm's ``running_var``.
    """
    raw = load_pickled_arrays(path)  # never np.load(allow_pickle=True): that runs code
    state: dict[str, torch.Tensor] = {}

    def conv(prefix: str, params: dict) -> None:
        weight = np.ascontiguousarray(params["weights"][:, 0].transpose(2, 1, 0))
        state[f"{prefix}.weight"] = torch.from_numpy(weight)
        state[f"{prefix}.bias"] = torch.from_numpy(params["biases"])

    for name, *_ in CONVS:
        params = raw.pop(name)
        conv(f"blocks.{name}.0", params)
        state[f"blocks.{name}.1.weight"] = torch.from_numpy(params["gamma"])
        state[f"blocks.{name}.1.bias"] = torch.from_numpy(params["beta"])
        state[f"blocks.{name}.1.running_mean"] = torch.from_numpy(params["mean"])
        state[f"blocks.{name}.1.running_var"] = torch.from_numpy(params["var"])
        state[f"blocks.{name}.1.num_batches_tracked"] = torch.tensor(0)
    for name, _ in HEADS:
        conv(f"heads.{name}", raw.pop(name))
    if raw:
        raise ValueError(f"{path}: unexpected SoundNet layers {sorted(raw)}")
    return state


class SoundNetExtractor(Extractor):
    """conv3 ... conv7 (dims 64, 128, 256, 512, 1024), each mean-pooled over time."""

    name = "soundnet8"
    modality = "audio"
    layers: ClassVar = (
        ("conv3", 64),
        ("conv4", 128),
        ("conv5", 256),
        ("conv6", 512),
        ("conv7", 1024),
    )
    input = InputSpec(sample_rate=SAMPLE_RATE)

    def _default_weights(self) -> str:
        return packaged_file("soundnet", "models/sound8.npy")

    def _build(self, weights_path: str) -> torch.nn.Module:
        model = SoundNet8()
        model.load_state_dict(state_dict_from_npy(weights_path), strict=True)
        return model

    def prepare(self, media: torch.Tensor) -> torch.Tensor:
        if media.ndim != 1:
            raise ValueError(
                f"SoundNet wants a mono waveform (n_samples,), got {tuple(media.shape)}"
            )
        if media.numel() < SAMPLE_RATE:
            raise ValueError(f"SoundNet needs >= 1 s of audio, got {media.numel()} samples")
        return (media.float() * INPUT_SCALE).unsqueeze(0)

    def _forward(self, module: torch.nn.Module, batch: torch.Tensor) -> list[torch.Tensor]:
        return [out.mean(dim=2) for out in module(batch)[2:]]
