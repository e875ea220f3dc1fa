"""The extractor interface: one pretrained network, several pooled layers, lazy weights.

An extractor is configuration until its first ``embed`` call, so it pickles cheaply into
DataLoader workers (which only run ``prepare`` on decoded media) and tests build it fast.
"""

from __future__ import annotations

import contextlib
import copy
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import torch

from acav_assets.core.features.options import FeatureOptions
from acav_assets.core.features.weights import fetch_weights, file_sha256

Modality = Literal["audio", "visual"]
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "fp16")  # auto: fp16 on a GPU, fp32 on the CPU


@dataclass(frozen=True)
class InputSpec:
    """What the decoder must hand an extractor for one clip window."""

    num_frames: int = 0  # visual: frames sampled uniformly over the window
    frame_size: int = 0  # visual: short side after resize, then a square centre crop
    sample_rate: int = 0  # audio: mono samples per second


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` means the GPU when there is one."""
    name = str(device)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not (name in DEVICES or name.startswith("cuda:")):
        raise ValueError(f"unknown device {name!r}; use one of {DEVICES} or 'cuda:<index>'")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} asked for, but this machine has no CUDA device")
    return torch.device(name)


class Extractor(ABC):
    """A pretrained network whose chosen layers, pooled, describe a clip.

    Subclasses declare ``name``, ``modality``, ``layers`` (ordered ``(layer_name, dim)``) and
    ``input``, build the network in ``_build``, turn decoded media into its input in
    ``prepare`` and return one ``(batch, dim)`` tensor per layer from ``_forward``.
    """

    name: ClassVar[str]
    modality: ClassVar[Modality]
    layers: ClassVar[tuple[tuple[str, int], ...]]
    input: ClassVar[InputSpec]
    # How media become network input, where that changed the embeddings since the first
    # release (1): a new recipe is a new version, so stored shards are recomputed.
    recipe: ClassVar[int] = 1

    def __init__(
        self,
        *,
        weights: str | None = None,
        device: str = "cpu",
        cache_dir: str | None = None,
        precision: str = FeatureOptions.precision,
    ) -> None:
        self.weights = weights
        self.device = device
        self.cache_dir = cache_dir
        self.precision = precision
        self._module: torch.nn.Module | None = None
        self._device: torch.device | None = None
        self._weights_path: str | None = None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(weights={self.weights!r}, device={self.device!r}, "
            f"precision={self.precision!r})"
        )

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_module"] = None  # workers never run the network
        return state

    # --- weights and version ---

    def _default_weights(self) -> str:
        raise ValueError(
            f"extractor {self.name!r} has no offline default weights: pass weights=<file or URL>"
        )

    @property
    def weights_path(self) -> str:
        """The local weights file (fetched from the URL on first use)."""
        if self._weights_path is None:
            source = self.weights if self.weights is not None else self._default_weights()
            self._weights_path = fetch_weights(source, self.cache_dir)
        return self._weights_path

    @property
    def version(self) -> str:
        """``<name>-<first 12 hex of the weights' sha256>``, then ``-r<recipe>`` from the
        second recipe on: new weights or new inputs, new version. Device and precision are
        not in it: they move embeddings far less than content does (tests/.../test_gpu.py)."""
        version = f"{self.name}-{file_sha256(self.weights_path)[:12]}"
        return version if self.recipe == 1 else f"{version}-r{self.recipe}"

    @property
    def layer_names(self) -> list[str]:
        return [name for name, _ in self.layers]

    @property
    def dims(self) -> list[int]:
        return [dim for _, dim in self.layers]

    # --- network ---

    @abstractmethod
    def _build(self, weights_path: str) -> torch.nn.Module:
        """The network with its weights loaded strictly (every key used, none missing)."""

    @abstractmethod
    def prepare(self, media: torch.Tensor) -> torch.Tensor:
        """Decoded media of one clip (uint8 frames ``(T, 3, H, W)`` or a float waveform in
        [-1, 1]) to the network input of that clip, on the device the media are on."""

    @abstractmethod
    def _forward(self, module: torch.nn.Module, batch: torch.Tensor) -> list[torch.Tensor]:
        """One pooled ``(batch, dim)`` tensor per declared layer."""

    def load(self) -> Extractor:
        """Load the weights now (otherwise on the first ``embed``); returns ``self``."""
        if self._module is None:
            if self.precision not in PRECISIONS:
                raise ValueError(f"unknown precision {self.precision!r}; use one of {PRECISIONS}")
            self._device = resolve_device(self.device)
            if self.precision == "fp16" and self._device.type != "cuda":
                raise ValueError("precision 'fp16' needs a CUDA device; the CPU runs fp32")
            module = self._build(self.weights_path)
            self._module = module.to(self._device).eval()
        return self

    def on(self, device: str) -> Extractor:
        """This extractor if it already runs on ``device``, else an unloaded copy that will."""
        if resolve_device(device) == resolve_device(self.device):
            return self
        clone = copy.copy(self)
        clone.device, clone._module, clone._device = device, None, None
        return clone

    @property
    def resolved_device(self) -> torch.device:
        return self.load()._device  # type: ignore[return-value]

    @property
    def half_precision(self) -> bool:
        """Whether the network runs in float16 (tensor cores); its outputs stay float32."""
        return self.resolved_device.type == "cuda" and self.precision in ("auto", "fp16")

    def embed(self, batch: torch.Tensor) -> list[np.ndarray]:
        """``X`` float32 ``(n_clips, dim)`` per layer for a batch of prepared inputs."""
        self.load()
        half = (
            torch.autocast("cuda", dtype=torch.float16)
            if self.half_precision
            else contextlib.nullcontext()
        )
        with torch.inference_mode(), half:
            batch = batch.to(self._device, non_blocking=True)
            # The CPU takes one clip a pass: fastest there (activations stay in cache), and
            # a clip's embedding cannot depend on the clips batched with it.
            parts = [batch] if self._device.type == "cuda" else batch.split(1)
            per_part = [self._forward(self._module, part) for part in parts]
        if any(len(outputs) != len(self.layers) for outputs in per_part):
            raise ValueError(
                f"{self.name}: network gave {len(per_part[0])} layers, declared {self.layers}"
            )
        outputs = [torch.cat(layer) for layer in zip(*per_part, strict=True)]
        arrays = []
        for (layer, dim), out in zip(self.layers, outputs, strict=True):
            if tuple(out.shape) != (batch.shape[0], dim):
                raise ValueError(
                    f"{self.name}: layer {layer!r} has shape {tuple(out.shape)}, "
                    f"declared ({batch.shape[0]}, {dim})"
                )
            arrays.append(out.float().cpu().numpy())
        return arrays

    def embed_media(self, media: list[torch.Tensor]) -> list[np.ndarray]:
        """Convenience for small inputs: ``prepare`` each clip, then ``embed`` the batch."""
        return self.embed(torch.stack([self.prepare(m) for m in media]))
