"""Frame preprocessing shared by the visual extractors: resize, centre crop, normalise."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def resize_center_crop(frames: torch.Tensor, short_side: int, crop: int) -> torch.Tensor:
    """uint8 ``(T, 3, H, W)`` to float ``(T, 3, crop, crop)`` in [0, 1], antialiased, so the
    network sees the same scale whatever the source resolution."""
    if frames.ndim != 4 or frames.shape[1] != 3:
        raise ValueError(f"frames must be (T, 3, H, W), got {tuple(frames.shape)}")
    height, width = frames.shape[-2:]
    scale = short_side / min(height, width)
    size = (max(crop, round(height * scale)), max(crop, round(width * scale)))
    x = frames.float().div_(255.0)
    if size != (height, width):
        x = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
    top = (size[0] - crop) // 2
    left = (size[1] - crop) // 2
    return x[:, :, top : top + crop, left : left + crop].clamp_(0.0, 1.0).contiguous()


def normalize(x: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """Channel-wise ``(x - mean) / std`` on dim -3 (the channel axis of ``(..., 3, H, W)``)."""
    m = torch.tensor(mean, dtype=x.dtype, device=x.device).view(3, 1, 1)
    s = torch.tensor(std, dtype=x.dtype, device=x.device).view(3, 1, 1)
    return (x - m) / s
