"""The registry's extractors: declared layers, real weights, strict loading, versions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.models.video import r2plus1d_18

from acav_assets.core.features import (
    EXTRACTORS,
    FeatureOptions,
    get_extractor,
)
from acav_assets.core.features.decode import decode_audio, decode_frames
from acav_assets.core.features.vggish import VGGish, log_mel_patches


@pytest.fixture(scope="module")
def production_weights(tmp_path_factory) -> dict[str, str]:
    """State dicts of seeded, randomly initialised production networks, written to files."""
    folder = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    paths = {}
    for name, model in (("vggish", VGGish()), ("r2plus1d_18", r2plus1d_18(weights=None))):
        paths[name] = str(folder / f"{name}.pth")
        torch.save(model.state_dict(), paths[name])
    return paths


def _media_for(extractor, path: str) -> torch.Tensor:
    spec = extractor.input
    if extractor.modality == "audio":
        return decode_audio(path, 0.0, 3.0, spec.sample_rate)
    return decode_frames(path, 0.0, 3.0, spec.num_frames)


def test_registry_names_the_defaults_and_their_modalities():
    assert EXTRACTORS[FeatureOptions.audio_extractor].modality == "audio"
    assert EXTRACTORS[FeatureOptions.visual_extractor].modality == "visual"
    assert {"soundnet8", "mobilenet_v2", "vggish", "r2plus1d_18"} <= set(EXTRACTORS)
    for cls in EXTRACTORS.values():
        assert len(cls.layers) == 5


def test_get_extractor_rejects_unknown_name_and_device():
    with pytest.raises(ValueError, match="'nope'"):
        get_extractor("nope")
    with pytest.raises(ValueError, match="'tpu'"):
        get_extractor("soundnet8", device="tpu").load()
    with pytest.raises(ValueError, match="num_frames=8"):
        get_extractor("r2plus1d_18", num_frames=8)


@pytest.mark.parametrize("name", ["soundnet8", "mobilenet_v2", "vggish", "r2plus1d_18"])
def test_extractor_layers_have_declared_shapes_and_are_deterministic(
    name, media, production_weights
):
    extractor = get_extractor(name, weights=production_weights.get(name))
    clips = [_media_for(extractor, media["tone"]), _media_for(extractor, media["noise"])]
    first = extractor.embed_media(clips)
    again = get_extractor(name, weights=production_weights.get(name)).embed_media(clips)
    assert [x.shape for x in first] == [(2, dim) for _, dim in extractor.layers]
    for x, y in zip(first, again, strict=True):
        assert x.dtype == np.float32 and np.isfinite(x).all()
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("name", ["soundnet8", "mobilenet_v2"])
def test_default_weights_separate_different_content(name, media):
    extractor = get_extractor(name)
    layers = extractor.embed_media(
        [_media_for(extractor, media[m]) for m in ("tone", "tone", "noise")]
    )
    for x in layers:
        np.testing.assert_allclose(x[0], x[1], rtol=1e-5, atol=1e-5)
        gap = np.linalg.norm(x[0] - x[2]) / (np.linalg.norm(x[0]) + 1e-9)
        assert gap > 0.05


def test_mobilenet_default_weights_load_strictly_and_a_missing_key_fails(tmp_path):
    extractor = get_extractor("mobilenet_v2").load()
    assert extractor.version.startswith("mobilenet_v2-b0353104")
    state = torch.load(extractor.weights_path, weights_only=True)
    assert len(state) == 314
    state.pop("features.18.1.running_var")
    broken = tmp_path / "broken.pth"
    torch.save(state, broken)
    with pytest.raises(RuntimeError, match="running_var"):
        get_extractor("mobilenet_v2", weights=str(broken)).load()


def test_soundnet_port_reproduces_the_stored_batch_norm_statistics(media):
    """With the right layout and input scale, the mean pre-norm activation of conv7 on real
    sound matches the running mean the authors stored."""
    extractor = get_extractor("soundnet8").load()
    module = extractor._module
    x = extractor.prepare(decode_audio(media["noise"], 0.0, 3.0, 22050)).unsqueeze(0)
    with torch.inference_mode():
        for name, block in module.blocks.items():
            if name == "conv7":
                observed = block[0](x).mean(dim=(0, 2)).numpy()
                stored = block[1].running_mean.numpy()
            x = block(x)
            if module.pools[name]:
                x = torch.nn.functional.max_pool1d(x, module.pools[name], module.pools[name])
    assert np.corrcoef(observed, stored)[0, 1] > 0.95
    assert 0.5 < np.linalg.norm(observed) / np.linalg.norm(stored) < 2.0


def test_production_extractor_uses_the_weights_file_it_is_given(media, production_weights):
    extractor = get_extractor("vggish", weights=production_weights["vggish"])
    wave = decode_audio(media["tone"], 0.0, 3.0, 16_000)
    torch.manual_seed(0)
    reference = VGGish().eval()  # the same seeded network whose state the fixture saved
    with torch.inference_mode():
        outputs = reference(log_mel_patches(wave).unsqueeze(1))
    expected = outputs[-1].mean(dim=0).numpy()
    got = extractor.embed_media([wave])[-1][0]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_weights_from_a_url_are_cached_and_versioned_by_content(tmp_path, production_weights):
    path = production_weights["vggish"]
    from_file = get_extractor("vggish", weights=path)
    from_url = get_extractor("vggish", weights=f"file://{path}", cache_dir=str(tmp_path))
    assert from_url.version == from_file.version
    assert from_url.version.startswith("vggish-")
    other = tmp_path / "other.pth"
    torch.manual_seed(1)
    torch.save(VGGish().state_dict(), other)
    assert get_extractor("vggish", weights=str(other)).version != from_file.version
    with pytest.raises(ValueError, match="cache_dir"):
        get_extractor("vggish", weights="https://example.invalid/vggish.pth").load()
    with pytest.raises(ValueError, match="weights="):
        get_extractor("vggish").load()
    with pytest.raises(FileNotFoundError, match="nowhere"):
        get_extractor("vggish", weights=str(tmp_path / "nowhere.pth")).load()


def test_extractor_pickles_without_its_network():
    import pickle

    extractor = get_extractor("soundnet8").load()
    clone = pickle.loads(pickle.dumps(extractor))
    assert clone._module is None and clone.version == extractor.version


def test_mobilenet_with_folded_batch_norm_computes_the_unfolded_network():
    import torchvision

    extractor = get_extractor("mobilenet_v2").load()
    reference = torchvision.models.mobilenet_v2(weights=None)
    reference.load_state_dict(torch.load(extractor.weights_path, weights_only=True))
    reference.eval()
    x = torch.randn(1, 2, 3, 96, 96, generator=torch.Generator().manual_seed(0))
    expected, h = [], x.flatten(0, 1)
    with torch.inference_mode():
        for index, block in enumerate(reference.features):
            h = block(h)
            if index in (3, 6, 10, 13, 18):
                expected.append(h.mean(dim=(2, 3)).mean(dim=0, keepdim=True).numpy())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in extractor._module.modules())
    for got, want in zip(extractor.embed(x), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4)


def test_versions_name_the_input_recipe_and_precision_is_checked():
    assert get_extractor("mobilenet_v2").version.endswith("-r2")  # frames where cheapest
    assert get_extractor("soundnet8").version.count("-") == 1  # unchanged since release
    with pytest.raises(ValueError, match="'fp8'"):
        get_extractor("soundnet8", precision="fp8").load()
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="needs a CUDA device"):
            get_extractor("soundnet8", precision="fp16").load()
    assert not get_extractor("soundnet8").load().half_precision
