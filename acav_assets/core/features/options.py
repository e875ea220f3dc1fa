"""Which networks embed the clips, with which weights, and how the batches are fed."""

from __future__ import annotations

from dataclasses import dataclass

from acav_assets.core.options import OptionError, option


@dataclass(frozen=True)
class FeatureOptions:
    """The features domain's settings."""

    audio_extractor: str = option("soundnet8", "Audio network (registry name).")
    visual_extractor: str = option("mobilenet_v2", "Visual network (registry name).")
    audio_weights: str | None = option(None, "Audio weights: a file or an https URL.")
    visual_weights: str | None = option(None, "Visual weights: a file or an https URL.")
    weights_cache: str | None = option(None, "Folder for weights fetched from URLs.")
    batch_size: int = option(16, "Clips per network batch.")
    num_workers: int = option(
        1, "Decoders beside the networks: processes on the CPU, NVDEC threads on a GPU."
    )
    device: str = option(
        "auto", "auto (the GPU, NVDEC and fp16, where one exists), cpu, cuda or cuda:<index>."
    )
    precision: str = option(
        "auto", "Network precision: auto (fp16 on a GPU, fp32 on the CPU), fp32 or fp16."
    )

    def extractor(self, modality: str) -> str:
        return self.audio_extractor if modality == "audio" else self.visual_extractor

    def weights(self, modality: str) -> str | None:
        return self.audio_weights if modality == "audio" else self.visual_weights

    def validate(self, modalities: tuple[str, ...] = ("audio", "visual")) -> FeatureOptions:
        """Raise ``OptionError`` at the first bad setting of the ``modalities`` embedded."""
        from acav_assets.core.features.base import DEVICES, PRECISIONS
        from acav_assets.core.features.registry import EXTRACTORS

        for modality in modalities:
            name = self.extractor(modality)
            if name not in EXTRACTORS or EXTRACTORS[name].modality != modality:
                known = sorted(n for n, cls in EXTRACTORS.items() if cls.modality == modality)
                raise OptionError(f"{modality}_extractor", f"{name!r}: use one of {known}")
        if self.device not in DEVICES and not self.device.startswith("cuda:"):
            raise OptionError("device", f"{self.device!r}: use auto, cpu, cuda or cuda:<i>")
        if self.precision not in PRECISIONS:
            raise OptionError("precision", f"{self.precision!r}: use one of {list(PRECISIONS)}")
        if self.batch_size < 1 or self.num_workers < 0:
            raise OptionError(
                "batch_size",
                f"batch_size={self.batch_size} >= 1, num_workers={self.num_workers} >= 0",
            )
        return self
