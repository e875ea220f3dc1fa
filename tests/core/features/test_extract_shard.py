"""extract_shard: bad media becomes status rows, good media becomes embeddings."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acav_assets.core.catalog.schemas import TABLE_SCHEMAS
from acav_assets.core.features import extract_clips, extract_shard, get_extractor
from acav_assets.core.features.decode import (
    ClipDecodeError,
    VideoWindowsDataset,
    decode_audio,
    decode_frames,
    group_windows,
    sample_audio,
    sample_video,
)
from acav_assets.core.reasons import Reason


def _clips(media, rows):
    return pl.DataFrame(
        [
            {"clip_id": f"c{i}-{name}", "path": media[name], "start_s": s, "end_s": e}
            for i, (name, s, e) in enumerate(rows)
        ]
    )


ROWS = [
    ("tone", 0.0, 3.0),
    ("noise", 0.5, 2.5),
    ("silent_black", 0.0, 3.0),
    ("frozen", 0.0, 3.0),
    ("no_audio", 0.0, 3.0),
    ("garbage", 0.0, 3.0),
    ("missing", 0.0, 3.0),
    ("tone", 10.0, 20.0),
    ("tone", 2.0, 4.0),  # runs past the end
]


def _by_id(result):
    return {row["clip_id"]: row for row in result.status.iter_rows(named=True)}


def test_audio_extraction_records_bad_media_and_flags_silence(media):
    progress = []
    result = extract_shard(
        _clips(media, ROWS),
        get_extractor("soundnet8"),
        batch_size=4,
        num_workers=0,
        progress=lambda done, total: progress.append((done, total)),
    )
    rows = _by_id(result)
    assert result.status.schema == pl.from_arrow(TABLE_SCHEMAS["embeddings"].empty_table()).schema
    assert rows["c4-no_audio"]["reason"] == "no_audio_stream"
    assert rows["c5-garbage"]["reason"] == "decode_error"
    assert rows["c6-missing"]["reason"] == "file_not_found"
    assert rows["c7-tone"]["reason"] == "window_out_of_range"
    assert {rows[k]["status"] for k in ("c4-no_audio", "c5-garbage", "c6-missing")} == {"failed"}
    assert rows["c2-silent_black"]["status"] == "ok"
    assert rows["c2-silent_black"]["reason"] == "silent_audio"
    assert rows["c2-silent_black"]["audio_rms"] == 0.0
    assert rows["c0-tone"]["reason"] is None and rows["c0-tone"]["audio_rms"] > 0.05
    assert rows["c8-tone"]["status"] == "ok"  # padded with silence
    ok = ["c0-tone", "c1-noise", "c2-silent_black", "c3-frozen", "c8-tone"]
    assert sorted(result.embeddings[0][0]) == ok
    assert result.counters["ok"] == 5 and result.counters["failed_decode_error"] == 1
    assert progress[-1] == (9, 9)
    for index, (_, dim) in enumerate(get_extractor("soundnet8").layers):
        ids, X = result.embeddings[index]
        assert X.shape == (5, dim) and X.dtype == np.float16


def test_visual_extraction_measures_black_and_frozen_pictures(media):
    result = extract_shard(_clips(media, ROWS[:7]), get_extractor("mobilenet_v2"), num_workers=0)
    rows = _by_id(result)
    assert rows["c2-silent_black"]["reason"] == "black_video"
    assert rows["c3-frozen"]["reason"] == "frozen_video"
    assert rows["c3-frozen"]["frame_diff"] < 1e-3 < rows["c0-tone"]["frame_diff"]
    assert rows["c4-no_audio"]["status"] == "ok"
    assert rows["c5-garbage"]["reason"] == "decode_error"


def test_worker_processes_give_the_same_embeddings_as_direct_calls(media):
    clips = _clips(media, ROWS[:2])
    extractor = get_extractor("soundnet8")
    in_workers = extract_shard(clips, extractor, batch_size=1, num_workers=2)
    waves = [
        decode_audio(media["tone"], 0.0, 3.0, 22050),
        decode_audio(media["noise"], 0.5, 2.5, 22050),
    ]
    direct = [extractor.embed(extractor.prepare(w)[None])[i] for w in waves for i in range(5)]
    for index in range(5):
        ids, X = in_workers.embeddings[index]
        assert ids == ["c0-tone", "c1-noise"]
        np.testing.assert_array_equal(X[0], direct[index].astype(np.float16)[0])
        np.testing.assert_array_equal(X[1], direct[5 + index].astype(np.float16)[0])


def test_visual_windows_of_any_length_sample_the_declared_frame_count(media):
    frames = decode_frames(media["tone"], 0.2, 1.4, 8)
    assert frames.shape == (8, 3, 240, 320)


def test_extract_shard_rejects_bad_clip_tables(media):
    extractor = get_extractor("soundnet8")
    with pytest.raises(ValueError, match="end_s"):
        extract_shard(pl.DataFrame({"clip_id": ["a"], "path": ["x"], "start_s": [0.0]}), extractor)
    twice = _clips(media, ROWS[:1]).vstack(_clips(media, ROWS[:1]))
    with pytest.raises(ValueError, match="c0-tone"):
        extract_shard(twice, extractor)
    with pytest.raises(ValueError, match="batch_size"):
        extract_shard(_clips(media, ROWS[:1]), extractor, batch_size=0)


def test_a_window_too_short_for_the_network_is_recorded(media):
    clips = _clips(media, [("tone", 0.0, 0.5), ("tone", 0.0, 2.0)])
    rows = _by_id(extract_shard(clips, get_extractor("soundnet8"), num_workers=0))
    assert rows["c0-tone"]["status"] == "failed" and rows["c0-tone"]["reason"] == "too_short"
    assert rows["c1-tone"]["status"] == "ok"


def test_vggish_refuses_a_window_shorter_than_one_patch_in_the_worker(media):
    extractor = get_extractor("vggish", weights="never-loaded.pth")  # prepare() needs none
    items = group_windows([media["tone"]] * 2, [0.0, 0.0], [0.5, 2.0])
    short, long = VideoWindowsDataset(items, [extractor])[0]["vggish"]
    assert short.reason == "too_short" and "patch" in short.detail
    assert long.reason is None and long.data.shape == (2, 96, 64)


def test_equal_windows_give_equal_embeddings_whatever_the_batching_and_workers(media):
    rows = [("tone", 0.0, 3.0), ("noise", 0.5, 2.5), ("tone", 1.0, 2.0), ("noise", 0.0, 3.0),
            ("frozen", 0.0, 3.0), ("tone", 0.2, 1.4), ("garbage", 0.0, 3.0)]  # fmt: skip
    clips = _clips(media, rows)
    extractors = [get_extractor("soundnet8"), get_extractor("mobilenet_v2")]
    one = extract_clips(clips, extractors, batch_size=1, num_workers=0)
    shuffled = clips.sample(fraction=1.0, shuffle=True, seed=3)
    many = extract_clips(shuffled, extractors, batch_size=3, num_workers=2)
    alone = {
        row["clip_id"]: extract_clips(
            clips.filter(pl.col("clip_id") == row["clip_id"]), extractors, num_workers=0
        )  # fmt: skip
        for row in clips.head(3).iter_rows(named=True)
    }
    for name in ("soundnet8", "mobilenet_v2"):
        columns = ["clip_id", "status", "reason", "audio_rms", "frame_diff", "frame_luma"]
        assert (
            one[name]
            .status.select(columns)
            .sort("clip_id")
            .equals(many[name].status.select(columns).sort("clip_id"))
        )
        for layer, (ids, X) in one[name].embeddings.items():
            other_ids, other_X = many[name].embeddings[layer]
            order = [other_ids.index(c) for c in ids]
            assert sorted(ids) == sorted(other_ids) and len(ids) == 6
            np.testing.assert_array_equal(X, other_X[order])
            for clip_id, result in alone.items():  # a clip's neighbours change nothing
                np.testing.assert_array_equal(
                    X[ids.index(clip_id)], result[name].embeddings[layer][1][0]
                )


def test_each_video_is_opened_once_for_all_its_windows(media, monkeypatch):
    from acav_assets.core.features import decode

    opened = []

    class Counting(decode.VideoDecoder):
        def __init__(self, source, **kwargs):
            opened.append(source.name)  # an open file: ffmpeg can open no other
            super().__init__(source, **kwargs)

    monkeypatch.setattr(decode, "VideoDecoder", Counting)
    rows = [("tone", 0.0, 1.0), ("noise", 0.0, 1.0), ("tone", 1.0, 2.0), ("tone", 2.0, 3.0)]
    results = extract_clips(
        _clips(media, rows), [get_extractor("mobilenet_v2")], batch_size=2, num_workers=0
    )
    assert sorted(opened) == sorted([media["tone"], media["noise"]])
    assert results["mobilenet_v2"].counters["ok"] == 4


def test_extract_clips_rejects_repeated_or_missing_extractors(media):
    clips = _clips(media, ROWS[:1])
    with pytest.raises(ValueError, match="distinct"):
        extract_clips(clips, [get_extractor("soundnet8"), get_extractor("soundnet8")])
    with pytest.raises(ValueError, match="distinct"):
        extract_clips(clips, [])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_hostile_bytes_decode_to_frames_or_a_reason_never_another_error(media, tmp_path, data):
    original = open(media["tone"], "rb").read()
    cut = data.draw(st.integers(0, len(original)))
    noise = data.draw(st.binary(max_size=64))
    where = data.draw(st.integers(0, max(0, cut - 1)))
    damaged = original[:where] + noise + original[where + len(noise) : cut]
    path = tmp_path / "damaged.mp4"
    path.write_bytes(damaged)
    windows = [(0.0, 1.0), (1.0, 3.0)]
    for results in (sample_video(str(path), windows, 4), sample_audio(str(path), windows, 22050)):
        assert len(results) == 2
        for result in results:
            assert isinstance(result, (torch.Tensor, ClipDecodeError))
            if isinstance(result, ClipDecodeError):
                assert result.reason in set(Reason)
