"""The demo corpus: real H.264 + AAC files, truth beside them, swapped sound really swapped."""

from __future__ import annotations

import csv
import io
import json
import subprocess

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from acav_assets.core.evaluation.corpus import (
    TRUTH_COLUMNS,
    clip_truth,
    generate_corpus,
    load_truth,
    plan_corpus,
)

SMALL = dict(n_classes=2, min_seconds=3.0, max_seconds=4.0, width=64, height=48, fps=5)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    calls = []
    info = generate_corpus(
        tmp_path_factory.mktemp("corpus"),
        n_videos=6,
        swap_fraction=0.5,
        seed=3,
        n_jobs=2,
        progress=lambda d, t: calls.append((d, t)),
        **SMALL,
    )
    return info, calls


def probe(path) -> dict:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_streams",
            "-show_format",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def spectral_centroid(path) -> float:
    raw = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(path),
            "-vn",
            "-ac",
            "1",
            "-ar",
            "22050",
            "-f",
            "f32le",
            "pipe:1",
        ],
        capture_output=True,
        check=True,
    ).stdout
    x = np.frombuffer(raw, dtype=np.float32)
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(x.size, 1 / 22050)
    return float((freqs * power).sum() / power.sum())


def test_corpus_videos_are_h264_aac_mp4_of_the_planned_length(corpus):
    info, calls = corpus
    truth = load_truth(info.root)
    assert truth.height == info.n_videos == 6
    assert calls[-1] == (6, 6) and len(calls) == 6
    for row in truth.iter_rows(named=True):
        meta = probe(row["path"])
        codecs = {s["codec_type"]: s for s in meta["streams"]}
        assert codecs["video"]["codec_name"] == "h264"
        assert codecs["audio"]["codec_name"] == "aac"
        assert (codecs["video"]["width"], codecs["video"]["height"]) == (64, 48)
        assert "mp4" in meta["format"]["format_name"]
        assert float(meta["format"]["duration"]) == pytest.approx(row["duration_s"], abs=0.3)
        assert 3.0 <= row["duration_s"] <= 4.0 and row["n_segments"] >= 2


def test_manifest_lists_every_video_by_path(corpus):
    info, _ = corpus
    manifest = info.manifest_path.read_text().splitlines()
    assert manifest[0] == "path"
    assert sorted(manifest[1:]) == sorted(load_truth(info.root)["path"].to_list())


def test_exactly_the_swap_fraction_gets_another_class_sound(corpus):
    info, _ = corpus
    truth = load_truth(info.root)
    assert info.n_swapped == truth["swapped"].sum() == 3
    differs = truth["visual_class"] != truth["audio_class"]
    assert (differs == truth["swapped"]).all()
    assert (truth["corresponds"] == ~truth["swapped"]).all()


def test_sound_in_the_file_follows_the_audio_class_even_when_swapped(corpus):
    # class 0 is a low drone (80-140 Hz), class 1 a 300-450 Hz square wave with harmonics
    info, _ = corpus
    truth = load_truth(info.root)
    for row in truth.iter_rows(named=True):
        centroid = spectral_centroid(row["path"])
        assert (centroid > 400) == (row["audio_class"] == 1), (row, centroid)


def test_plan_depends_on_the_seed_only():
    args = (20, 5, 0.5, 30.0, 60.0)
    first = plan_corpus(*args, 7, 320, 180, 10)
    assert first == plan_corpus(*args, 7, 320, 180, 10)
    assert first != plan_corpus(*args, 8, 320, 180, 10)
    assert sorted(np.bincount([p.visual_class for p in first]).tolist()) == [4] * 5
    assert all(3 <= len(p.segments) <= 5 for p in first)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(n_classes=17), "n_classes=17"),
        (dict(swap_fraction=1.5), "swap_fraction=1.5"),
        (dict(min_seconds=5.0, max_seconds=4.0), "min_seconds=5.0"),
        (dict(width=65), "width=65"),
    ],
)
def test_generator_rejects_bad_settings_before_writing(tmp_path, change, message):
    with pytest.raises(ValueError, match=message):
        generate_corpus(tmp_path / "c", n_videos=2, **{**SMALL, **change})
    assert not (tmp_path / "c").exists()


def test_clip_truth_maps_each_clip_to_its_video(corpus):
    info, _ = corpus
    truth = load_truth(info.root)
    paths = truth["path"].to_list()
    got = clip_truth([paths[2], paths[0], paths[2]], truth)
    expected = truth["corresponds"].to_numpy()
    assert got.tolist() == [expected[2], expected[0], expected[2]]
    with pytest.raises(ValueError, match="not in the corpus truth"):
        clip_truth(["/nowhere/else.mp4"], truth)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("v0,v0.mp4,/c/v0.mp4,zero,0,false", "not a truth table: could not parse"),
        ("v0,v0.mp4,/c/v0.mp4,,0,false", r"empty cells in \['visual_class'\]"),
        ("v0,v0.mp4,/c/v0.mp4,0,0,maybe", "not a truth table"),
        ("v0,v0.mp4,/c/v0.mp4,0,0,true,f,s,30.0,3\nv1,v1.mp4,/c/v0.mp4,1,1,true", "more than once"),
    ],
)
def test_a_truth_table_with_a_bad_cell_is_refused_with_its_column(tmp_path, rows, message):
    (tmp_path / "truth.csv").write_text(",".join(TRUTH_COLUMNS) + "\n" + rows + ",f,s,30.0,3\n")
    with pytest.raises(ValueError, match=message):
        load_truth(tmp_path)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@example([["0", "1", "false", "f", "s", "30.0", "3"], ["1", "1", "true", "f", "s", "3", "3"]])
@example([["0", "0", "true", '"'], ["0", "0", "0", '"']])  # one record over two lines
@given(
    st.lists(
        st.lists(st.sampled_from(["0", "7", "-1", "", "x", "true", "false", '"', "1.5", " "]),
                 min_size=4, max_size=8),
        max_size=5,
    )
)  # fmt: skip
def test_fuzzed_truth_tables_load_whole_or_fail_with_a_value_error(tmp_path, rows):
    header = ",".join(TRUTH_COLUMNS)
    body = "\n".join(f"v{i},v{i}.mp4,/c/v{i}.mp4," + ",".join(row) for i, row in enumerate(rows))
    (tmp_path / "truth.csv").write_text(header + "\n" + body + "\n")
    try:
        truth = load_truth(tmp_path)
    except ValueError:
        return
    records = list(csv.reader(io.StringIO(header + "\n" + body + "\n")))[1:]
    assert truth.height == len(records)  # a quoted cell may hold a line break
    assert all(truth[c].null_count() == 0 for c in ("visual_class", "audio_class", "swapped"))
    assert truth["visual_class"].dtype == pl.Int64 and truth["corresponds"].dtype == pl.Boolean


def test_every_one_of_the_sixteen_families_renders_sound_and_picture(tmp_path):
    info = generate_corpus(tmp_path / "c", n_videos=16, swap_fraction=0.0, seed=1,
                           n_jobs=2, **{**SMALL, "n_classes": 16})  # fmt: skip
    truth = load_truth(info.root)
    assert sorted(truth["visual_class"].to_list()) == list(range(16))
    assert truth["sound_family"].n_unique() == truth["visual_family"].n_unique() == 16
    for row in truth.iter_rows(named=True):
        meta = probe(row["path"])
        assert {s["codec_type"] for s in meta["streams"]} == {"video", "audio"}
        assert float(meta["format"]["duration"]) == pytest.approx(row["duration_s"], abs=0.3)
        assert spectral_centroid(row["path"]) > 0, row["sound_family"]


def test_a_second_run_keeps_the_videos_and_another_plan_renders_them_again(tmp_path):
    out = tmp_path / "c"
    generate_corpus(out, n_videos=2, seed=1, **SMALL)
    videos = sorted((out / "videos").glob("*.mp4"))
    stamps = [v.stat().st_mtime_ns for v in videos]
    videos[1].unlink()  # as if the first run had been stopped before it
    generate_corpus(out, n_videos=2, seed=1, **SMALL)
    assert videos[0].stat().st_mtime_ns == stamps[0] and videos[1].is_file()
    generate_corpus(out, n_videos=2, seed=2, **SMALL)
    assert videos[0].stat().st_mtime_ns != stamps[0]
    assert load_truth(out)["video_id"].to_list() == [v.stem for v in videos]
