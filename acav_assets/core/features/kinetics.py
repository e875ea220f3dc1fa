"""R(2+1)D-18 trained on Kinetics-400: a production visual extractor on 16-frame clips.

torchvision's architecture with weights from a file or a URL (torchvision's
``r2plus1d_18-91a641e6.pth`` or a fine-tuned state dict of the same shape). Five layers:
the stem and the four residual stages, each pooled over time and space.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torchvision.models.video import r2plus1d_18

from acav_assets.core.features.base import Extractor, InputSpec
from acav_assets.core.features.frames import normalize, resize_center_crop

KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)


class R2Plus1DExtractor(Extractor):
    """stem, layer1 ... layer4 (dims 64, 64, 128, 256, 512) of R(2+1)D-18; frames resized
    to a short side of 128 and centre-cropped to 112, as in its Kinetics training."""

    name = "r2plus1d_18"
    modality = "visual"
    layers: ClassVar = (
        ("stem", 64),
        ("layer1", 64),
        ("layer2", 128),
        ("layer3", 256),
        ("layer4", 512),
    )
    input = InputSpec(num_frames=16, frame_size=112)
    recipe = 2  # frames sampled where they are cheapest to decode (decode.plan_frames)

    def __init__(self, *, num_frames: int = 16, **kwargs) -> None:
        super().__init__(**kwargs)
        if not 16 <= num_frames <= 32:
            raise ValueError(f"R(2+1)D-18 takes clips of 16-32 frames, got num_frames={num_frames}")
        self.num_frames = num_frames
        self.input = InputSpec(num_frames=num_frames, frame_size=112)

    def _build(self, weights_path: str) -> torch.nn.Module:
        model = r2plus1d_18(weights=None)
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
        return model

    def prepare(self, media: torch.Tensor) -> torch.Tensor:
        x = normalize(
            resize_center_crop(media, short_side=128, crop=112), KINETICS_MEAN, KINETICS_STD
        )
        return x.transpose(0, 1).contiguous()  # (3, T, 112, 112)

    def _forward(self, module: torch.nn.Module, batch: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        x = batch
        for stage in (module.stem, module.layer1, module.layer2, module.layer3, module.layer4):
            x = stage(x)
            outputs.append(x.mean(dim=(2, 3, 4)))
        return outputs
