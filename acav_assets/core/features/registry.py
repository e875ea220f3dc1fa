"""The extractor registry: names the CLI, the assets and the configs refer to."""

from __future__ import annotations

from acav_assets.core.features.base import Extractor
from acav_assets.core.features.kinetics import R2Plus1DExtractor
from acav_assets.core.features.mobilenet import MobileNetV2Extractor
from acav_assets.core.features.soundnet import SoundNetExtractor
from acav_assets.core.features.vggish import VGGishExtractor

EXTRACTORS: dict[str, type[Extractor]] = {
    cls.name: cls
    for cls in (SoundNetExtractor, MobileNetV2Extractor, VGGishExtractor, R2Plus1DExtractor)
}


def get_extractor(name: str, **kwargs) -> Extractor:
    """A new extractor by registry name; ``kwargs`` go to its constructor (``weights``,
    ``device``, ``cache_dir``, ``num_frames`` for visual ones)."""
    try:
        cls = EXTRACTORS[name]
    except KeyError:
        raise ValueError(f"unknown extractor {name!r}; known: {sorted(EXTRACTORS)}") from None
    return cls(**kwargs)
