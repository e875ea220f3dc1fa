"""Manifests: every format loads to the same rows; bad ones are rejected whole; stable shards."""

from __future__ import annotations

import json

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acav_assets.core.catalog.tables import TableStore
from acav_assets.core.media import (
    ManifestError,
    load_manifest,
    register_manifest,
    shard_manifest,
    video_id_for,
)
from acav_assets.core.media.manifest import Manifest
from acav_assets.core.storage import check_key

ROWS = [("dQw4w9WgXcQ", 30.0, 40.0), ("dQw4w9WgXcQ", 50.0, 60.0), ("-abc_DEF123", 0.0, 10.0)]


def test_acav_list_loads_as_published(tmp_path):
    path = tmp_path / "acav100m.csv"
    path.write_text("".join(f"{v},{int(s)},{int(e)}\n" for v, s, e in ROWS))
    rows = load_manifest(path).rows
    assert rows.select("youtube_id", "start_s", "end_s").rows() == ROWS
    assert rows["video_id"].to_list() == ["yt-dQw4w9WgXcQ", "yt-dQw4w9WgXcQ", "yt--abc_DEF123"]
    assert rows["url"][0] == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    assert rows["line"].to_list() == [1, 2, 3]


def test_acav_list_with_its_own_header_loads(tmp_path):
    # the column names ACAV100M's metadata uses (video2dataset's ACAV example reads
    # row['videoID'], row['start'], row['end'])
    path = tmp_path / "acav100m_clip_unique.csv"
    path.write_text("videoID,start,end\n" + "".join(f"{v},{s},{e}\n" for v, s, e in ROWS))
    rows = load_manifest(path).rows
    assert rows.select("youtube_id", "start_s", "end_s").rows() == ROWS
    assert rows["line"].to_list() == [2, 3, 4]


AUDIOSET = """\
# Segments csv created Sun Mar  5 10:54:31 2017
# num_ytids=22160, num_segs=22160, num_unique_labels=527, num_positive_labels=52882
# YTID, start_seconds, end_seconds, positive_labels
--PJHxphWEs, 30.000, 40.000, "/m/09x0r,/t/dd00088"
--ZhevVpy1s, 50.000, 60.000, "/m/012xff"
--aE2O5G5WE, 0.000, 10.000, "/m/03fwl,/m/04rlf,/m/09x0r"
"""


def test_audioset_segments_load_with_their_labels(tmp_path):
    path = tmp_path / "balanced_train_segments.csv"
    path.write_text(AUDIOSET)
    rows = load_manifest(path).rows
    assert rows.select("youtube_id", "start_s", "end_s", "labels").rows() == [
        ("--PJHxphWEs", 30.0, 40.0, "/m/09x0r,/t/dd00088"),
        ("--ZhevVpy1s", 50.0, 60.0, "/m/012xff"),
        ("--aE2O5G5WE", 0.0, 10.0, "/m/03fwl,/m/04rlf,/m/09x0r"),
    ]
    assert rows["line"].to_list() == [4, 5, 6] and rows["split"].is_null().all()


VGGSOUND = """\
---g-f_I2yQ,1,people marching,test
--0PQM4-hqg,30,waterfall burbling,train
--56QUhyDQM,185,playing tennis,train
"""


def test_vggsound_list_loads_as_ten_second_clips_with_label_and_split(tmp_path):
    path = tmp_path / "vggsound.csv"
    path.write_text(VGGSOUND)
    rows = load_manifest(path).rows
    assert rows.select("youtube_id", "start_s", "end_s", "labels", "split").rows() == [
        ("---g-f_I2yQ", 1.0, 11.0, "people marching", "test"),
        ("--0PQM4-hqg", 30.0, 40.0, "waterfall burbling", "train"),
        ("--56QUhyDQM", 185.0, 195.0, "playing tennis", "train"),
    ]


def test_labels_and_split_reach_the_sources_table(storage, tmp_path):
    tables = TableStore(storage)
    for name, text in (("vggsound.csv", VGGSOUND), ("balanced_train_segments.csv", AUDIOSET)):
        (tmp_path / name).write_text(text)
        register_manifest(tmp_path / name, tables)
    sources = tables.read("sources").sort("source", "line")
    vgg = sources.filter(pl.col("source").str.ends_with("vggsound.csv"))
    assert vgg["split"].to_list() == ["test", "train", "train"]
    assert vgg["labels"].to_list() == ["people marching", "waterfall burbling", "playing tennis"]
    audioset = sources.filter(pl.col("source").str.ends_with("segments.csv"))
    assert audioset["labels"][0] == "/m/09x0r,/t/dd00088"


def test_two_names_for_one_column_are_refused(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("videoID,ytid,start,end\naaaaaaaaaaa,bbbbbbbbbbb,1,2\n")
    with pytest.raises(ManifestError, match=r"line 1: repeated columns \['videoid', 'ytid'\]"):
        load_manifest(path)


@pytest.mark.parametrize("kind", ["csv", "tsv", "jsonl", "parquet"])
def test_every_format_gives_the_same_rows(tmp_path, kind):
    path = tmp_path / f"m.{kind}"
    records = [{"youtube_id": v, "start": s, "end": e} for v, s, e in ROWS]
    if kind in ("csv", "tsv"):
        sep = "," if kind == "csv" else "\t"
        lines = [sep.join(["youtube_id", "start", "end"])]
        lines += [sep.join(str(r[k]) for k in ("youtube_id", "start", "end")) for r in records]
        path.write_text("\n".join(lines) + "\n")
    elif kind == "jsonl":
        path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    else:
        pl.DataFrame(records).write_parquet(path)
    rows = load_manifest(path).rows
    assert rows.select("youtube_id", "start_s", "end_s").rows() == ROWS


def test_text_manifest_takes_urls_and_paths_relative_to_itself(tmp_path):
    path = tmp_path / "list.txt"
    path.write_text("# comment\nhttps://youtu.be/dQw4w9WgXcQ\n\nvideos/a.mp4\n/abs/b.mp4\n")
    rows = load_manifest(path).rows
    assert rows["video_id"][0] == video_id_for(url=None, youtube_id="dQw4w9WgXcQ", path=None)
    assert rows["path"].to_list()[1:] == [str(tmp_path / "videos" / "a.mp4"), "/abs/b.mp4"]
    assert rows["line"].to_list() == [2, 4, 5]


def test_folder_manifest_lists_its_video_files_sorted(tmp_path):
    for name in ("b.webm", "a.mp4", "notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    rows = load_manifest(tmp_path).rows
    assert rows["path"].to_list() == [str(tmp_path / "a.mp4"), str(tmp_path / "b.webm")]


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("youtube_id,start,end\nabc,1,2\n", 2, "youtube_id 'abc'"),
        ("youtube_id,start,end\ndQw4w9WgXcQ,1,\n", 2, "both start and end"),
        ("youtube_id,start,end\ndQw4w9WgXcQ,5,2\n", 2, "start 5.0 is not before end 2.0"),
        ("youtube_id,start,end\ndQw4w9WgXcQ,x,2\n", 2, "start 'x' is not a number"),
        ("url,path\nhttp://a/b.mp4,/c.mp4\n", 2, "names a video twice"),
        ("url\nftp://a/b.mp4\n", 2, "not http(s)"),
        ("url,start\nhttp://a/b.mp4\n", 2, "1 fields, the header has 2"),
        ("name,size,kind\nx,1,y\n", 1, "no header naming url"),
    ],
)
def test_malformed_manifest_names_file_line_and_problem(tmp_path, text, line, problem):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ManifestError, match="bad.csv, line") as raised:
        load_manifest(path)
    assert raised.value.line == line and problem in str(raised.value)
    assert raised.value.file == str(path)


def test_malformed_jsonl_names_its_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"url": "http://a/b.mp4"}\n{"url": \n')
    with pytest.raises(ManifestError, match=r"bad.jsonl, line 2: invalid JSON"):
        load_manifest(path)


def test_register_writes_nothing_when_any_line_is_bad(storage, tmp_path):
    tables = TableStore(storage)
    path = tmp_path / "m.csv"
    good = "".join("url\n" + "".join(f"http://h/{i}.mp4\n" for i in range(5)))
    path.write_text(good + "not a url\n")
    with pytest.raises(ManifestError, match="line 7"):
        register_manifest(path, tables, shard_size=2)
    assert tables.shards("sources") == []


def test_reregistering_gives_the_same_shards_and_rows(storage, tmp_path):
    tables = TableStore(storage)
    path = tmp_path / "m.txt"
    path.write_text("".join(f"http://h/{i}.mp4\n" for i in range(5)))
    first = register_manifest(path, tables, shard_size=2)
    second = register_manifest(path, tables, shard_size=2)
    assert first == second and len(first) == 3
    assert tables.read("sources").height == 5
    assert all(check_key("shard", key) for key in first)


def _reference_shards(video_ids: list[str], size: int) -> list[list[str]]:
    """Obvious version: number videos by first appearance, cut every ``size`` videos."""
    order: dict[str, int] = {}
    for video in video_ids:
        order.setdefault(video, len(order))
    shards: dict[int, list[str]] = {}
    for video in video_ids:
        shards.setdefault(order[video] // size, []).append(video)
    return [shards[k] for k in sorted(shards)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=1, max_size=40), st.integers(1, 6))
def test_shards_match_reference_and_keep_a_video_together(numbers, size):
    ids = [f"v{n}" for n in numbers]
    rows = pl.DataFrame(
        {"video_id": ids, "line": list(range(1, len(ids) + 1))},
        schema={"video_id": pl.String, "line": pl.Int64},
    )
    manifest = Manifest(source="/x/m.csv", sha256="ab" * 32, rows=rows)
    shards = shard_manifest(manifest, shard_size=size)
    assert [s.rows["video_id"].to_list() for s in shards] == _reference_shards(ids, size)
    assert [s.key for s in shards] == [f"m-{'ab' * 6}-{i:05d}" for i in range(len(shards))]


def test_shard_size_must_be_positive():
    rows = pl.DataFrame({"video_id": ["a"], "line": [1]})
    with pytest.raises(ValueError, match="shard_size must be a positive integer, got 0"):
        shard_manifest(Manifest("/m.csv", "0" * 64, rows), shard_size=0)


_CSV_PIECES = st.sampled_from(
    ["#", " ", ",", '"', "\n", "\r\n", "YTID", "videoID", "start", "end", "label", "split",
     "--PJHxphWEs", "30.000", "1", "x", "/m/09x0r", "\t", "\x00", "é"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_CSV_PIECES, max_size=40).map("".join), st.sampled_from(["csv", "tsv"]))
def test_arbitrary_delimited_text_gives_rows_or_a_manifest_error(tmp_path_factory, text, kind):
    path = tmp_path_factory.mktemp("fuzz") / f"m.{kind}"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        manifest = load_manifest(path)
    except ManifestError:
        return
    assert manifest.rows.height >= 1 and manifest.rows["video_id"].null_count() == 0
