"""The real-footage corpus: rendered from a package tree, truth beside it, sound by class.

The tree here mirrors the unpacked Debian packages with media the test makes (seconds-long
footage, small photographs, one tone a class), so the test needs no package download."""

from __future__ import annotations

import re
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_corpus import probe, spectral_centroid  # the same directory, on sys.path

from acav_assets.core.evaluation.corpus import AUDIO_RATE, load_truth
from acav_assets.core.evaluation.real import (
    CLASSES,
    FOOTAGE_SUFFIXES,
    compose_soundtrack,
    generate_real_corpus,
    read_sound,
)

TONES = [300.0, 700.0, 1200.0, 1900.0, 2800.0, 4000.0]  # Hz, one a class


def _concrete(pattern: str) -> str:
    """A file name that the glob ``pattern`` matches."""
    return re.sub(r"\[(.)[^\]]*\]", r"\1", pattern).replace("*", "1")


def _write_tone(path: Path, freq: float, seconds: float = 0.4) -> None:
    t = np.arange(int(seconds * 16000)) / 16000
    pcm = (0.5 * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16000)
        handle.writeframes(pcm.tobytes())


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("unpacked")
    for c, tone in zip(CLASSES, TONES, strict=True):
        for pattern in c.visual:
            path = root / _concrete(pattern)
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix in FOOTAGE_SUFFIXES:
                _ffmpeg("-f", "lavfi", "-i", "testsrc2=s=96x72:r=10:d=3", "-c:v", "mpeg4",
                        str(path))  # fmt: skip
            else:
                _ffmpeg("-f", "lavfi", "-i", "mandelbrot=s=120x90", "-frames:v", "1", str(path))
        for pattern in c.sounds:
            path = root / _concrete(pattern)
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_tone(path, tone)
    return root


@pytest.fixture(scope="module")
def corpus(tree, tmp_path_factory) -> Path:
    return generate_real_corpus(
        tmp_path_factory.mktemp("real"), tree, n_videos=6, swap_fraction=0.5, min_seconds=3.0,
        max_seconds=4.0, width=64, height=48, fps=5, seed=1, n_jobs=2,
    )  # fmt: skip


def test_real_corpus_videos_have_three_scenes_of_their_class_and_the_planned_length(corpus):
    truth = load_truth(corpus)
    assert truth.height == 6 and truth["swapped"].sum() == 3
    assert (truth["n_segments"] == 3).all()
    assert ((truth["visual_class"] != truth["audio_class"]) == truth["swapped"]).all()
    for row in truth.iter_rows(named=True):
        meta = probe(row["path"])
        streams = {s["codec_type"]: s for s in meta["streams"]}
        assert streams["video"]["codec_name"] == "h264" and streams["audio"]["codec_name"] == "aac"
        assert float(meta["format"]["duration"]) == pytest.approx(row["duration_s"], abs=0.4)
        assert row["visual_family"] == CLASSES[row["visual_class"]].name


def test_real_corpus_sound_follows_the_audio_class_even_when_swapped(corpus):
    truth = load_truth(corpus)
    for row in truth.iter_rows(named=True):
        centroid = spectral_centroid(row["path"])
        nearest = int(np.argmin([abs(np.log(centroid / f)) for f in TONES]))
        assert nearest == row["audio_class"], (row, centroid)


def test_a_second_run_keeps_every_rendered_video(corpus, tree):
    videos = sorted((corpus / "videos").glob("*.mp4"))
    stamps = [v.stat().st_mtime_ns for v in videos]
    generate_real_corpus(corpus, tree, n_videos=6, swap_fraction=0.5, min_seconds=3.0,
                         max_seconds=4.0, width=64, height=48, fps=5, seed=1)  # fmt: skip
    assert [v.stat().st_mtime_ns for v in videos] == stamps


def test_soundtrack_fills_its_length_with_gaps_between_sounds():
    click = np.ones(int(0.1 * AUDIO_RATE), dtype=np.float32)
    track = compose_soundtrack([click], 3.0, (0.2, 0.3), np.random.default_rng(0))
    assert track.size == 3 * AUDIO_RATE
    assert np.abs(track).max() == pytest.approx(0.9, abs=1e-5)
    loud = np.abs(track) > 1e-6
    starts = np.flatnonzero(loud[1:] & ~loud[:-1]) + 1
    gaps = np.diff(starts) / AUDIO_RATE
    assert len(starts) >= 6 and gaps.min() >= 0.2 + 0.1 / 1.18 - 1e-3


def test_read_sound_resamples_pcm_wav_to_the_audio_rate(tmp_path):
    path = tmp_path / "tone.wav"
    _write_tone(path, 500.0, seconds=1.0)
    x = read_sound(str(path))
    assert x.dtype == np.float32 and abs(x.size - AUDIO_RATE) <= 2
    peak = np.argmax(np.abs(np.fft.rfft(x)))
    assert peak * AUDIO_RATE / x.size == pytest.approx(500.0, abs=2)


@settings(max_examples=20, deadline=None)
@given(st.binary(max_size=200))
def test_read_sound_of_arbitrary_bytes_is_an_array_or_its_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "x.wav"
    path.write_bytes(data)
    try:
        x = read_sound(str(path))
    except RuntimeError as error:
        assert "could not decode" in str(error)
    else:
        assert x.dtype == np.float32 and x.ndim == 1


def test_real_corpus_needs_every_class_to_have_pictures_and_sounds(tree, tmp_path):
    with pytest.raises(ValueError, match="n_videos"):
        generate_real_corpus(tmp_path / "r", tree, n_videos=2)
    with pytest.raises(ValueError, match="no picture matches"):
        generate_real_corpus(tmp_path / "r", tmp_path / "empty", n_videos=6)
