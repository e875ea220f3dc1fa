"""Every manifest parser, fuzzed: arbitrary bytes give rows or a ``ManifestError``, never
another exception; and the streaming, batched, vectorised reader gives exactly what a slow,
obvious one (the whole file through the csv module, one row checked at a time) gives, also
when the file is read in blocks of a few bytes."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acav_assets.core.media import manifest_formats
from acav_assets.core.media.manifest import (
    VIDEO_EXTENSIONS,
    ManifestError,
    ManifestReader,
    load_manifest,
    youtube_id_from_url,
)
from acav_assets.core.media.manifest_formats import ALIASES

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
_YOUTUBE = "dQw4w9WgXcQ"


def _rows_or_error(path: Path) -> list[tuple] | ManifestError:
    try:
        return load_manifest(path).rows.rows()
    except ManifestError as error:
        return error


@pytest.fixture(params=[1 << 20, 7], ids=["whole", "tiny_blocks"])
def block_bytes(request, monkeypatch):
    """Read files at once, or in blocks of 7 bytes (every line its own block, most split)."""
    monkeypatch.setattr(manifest_formats, "_READ_BYTES", request.param)
    return request.param


# --- arbitrary bytes, every format -------------------------------------------------------


@FUZZ
@given(data=st.binary(max_size=300), suffix=st.sampled_from(["csv", "tsv", "jsonl", "txt"]))
def test_arbitrary_bytes_give_rows_or_a_manifest_error(tmp_path, block_bytes, data, suffix):
    path = tmp_path / f"m.{suffix}"
    path.write_bytes(data)
    result = _rows_or_error(path)
    assert isinstance(result, ManifestError) or len(result) >= 1


@FUZZ
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_as_parquet_give_rows_or_a_manifest_error(tmp_path, data):
    path = tmp_path / "m.parquet"
    path.write_bytes(b"PAR1" + data + b"PAR1")
    assert isinstance(_rows_or_error(path), ManifestError | list)


_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.binary(max_size=10), st.lists(st.integers(), max_size=3),
)  # fmt: skip


@FUZZ
@given(
    columns=st.dictionaries(
        st.sampled_from([*ALIASES, "other", "URL", "Start"]),
        st.sampled_from(["string", "int64", "float64", "bool", "binary", "list", "null"]),
        min_size=1, max_size=5,
    ),
    rows=st.integers(0, 6),
    seed=st.integers(0, 10**6),
)  # fmt: skip
def test_parquet_of_any_column_types_gives_rows_or_a_manifest_error(tmp_path, columns, rows, seed):
    rng = __import__("random").Random(seed)
    make = {
        "string": lambda: rng.choice([None, "", "x", "http://h/v.mp4", _YOUTUBE, "/a/b.mp4", "1"]),
        "int64": lambda: rng.choice([None, 0, 1, -5, 10**15]),
        "float64": lambda: rng.choice([None, 0.5, float("nan"), float("inf"), -1.0, 3.0]),
        "bool": lambda: rng.choice([None, True, False]),
        "binary": lambda: rng.choice([None, b"\xff", b"http://h/v.mp4"]),
        "list": lambda: rng.choice([None, [], [1, 2]]),
        "null": lambda: None,
    }
    types = {"list": pa.list_(pa.int64()), "null": pa.null()}
    table = pa.table({
        name: pa.array([make[kind]() for _ in range(rows)], type=types.get(kind, kind))
        for name, kind in columns.items()
    })  # fmt: skip
    path = tmp_path / "m.parquet"
    pq.write_table(table, path)
    assert isinstance(_rows_or_error(path), ManifestError | list)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"url": ' + "[" * 100_000 + "]" * 100_000 + "}\n", "JSON that Python refuses"),
        ('{"url": "http://h/v.mp4", "start": ' + "9" * 5000 + "}\n", "JSON that Python refuses"),
        ('{"url": "http://h/v.mp4", "start": 1e999, "end": 2}\n', "must be a finite number"),
        ("[1, 2]\n", "expected a JSON object"),
    ],
)
def test_json_that_python_refuses_is_a_manifest_error_naming_the_line(tmp_path, text, problem):
    path = tmp_path / "m.jsonl"
    path.write_text('{"url": "http://h/a.mp4"}\n' + text)
    with pytest.raises(ManifestError, match=rf"m.jsonl, line 2: .*{problem}"):
        load_manifest(path)


@pytest.mark.parametrize(
    ("data", "line", "problem"),
    [
        (b"url\nhttp://h/a.mp4\n" + b'"' + b"x" * 200_000 + b'"\n', 3, "field larger than"),
        (b"url\nhttp://h/a.mp4\nhttp://h/\xff.mp4\n", 3, "not UTF-8"),
        (b"url\nhttp://h/a.mp4\nhttp://h/\x00.mp4\n", 3, "NUL byte"),
        (b"url\n" + b"x" * (2 << 20), 2, "a line longer than"),
        (b"url\nhttp://h/a.mp4\n\x89PNG\r\n\x1a\n", 3, "not UTF-8"),
    ],
)
def test_csv_limits_encodings_and_binary_files_are_manifest_errors(tmp_path, data, line, problem):
    path = tmp_path / "m.csv"
    path.write_bytes(data)
    with pytest.raises(ManifestError, match=problem) as raised:
        load_manifest(path)
    assert raised.value.line == line and raised.value.file == str(path)


def test_a_text_list_mostly_of_other_lines_is_refused_naming_its_first_bad_lines(tmp_path):
    path = tmp_path / "README.txt"
    path.write_text("# acav\nInstall it with pip.\nThen run acav demo.\nhttp://h/a.mp4\nSee docs\n")
    with pytest.raises(ManifestError, match="3 of 4 lines are neither a URL nor a path") as raised:
        load_manifest(path)
    assert raised.value.line == 2 and "line 3 'Then run acav demo.'" in str(raised.value)
    path.write_text("http://h/a.mp4\nvideos/b.mp4\nnotes\n/abs/c.MKV\n")
    assert len(load_manifest(path).rows) == 4  # a few odd lines: their videos fail later


# --- the reader against a slow, obvious reference -----------------------------------------

_ID = __import__("re").compile(r"^[A-Za-z0-9_-]{11}$")


class _Refused(Exception):
    pass


def _reference_text(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value).strip() or None


def _reference_seconds(value):
    text = _reference_text(value)
    if text is None:
        return None
    try:
        seconds = float(text)
    except ValueError as error:
        raise _Refused from error
    if not math.isfinite(seconds) or seconds < 0:
        raise _Refused
    return seconds


def _reference_row(line, fields, base, clip_length):
    if "" in fields:
        bare = fields[""].strip()
        named = {"url": bare} if "://" in bare else {"path": bare}
    else:
        named = {ALIASES[k]: v for k, v in fields.items() if k in ALIASES}
    url, youtube_id, path = (_reference_text(named.get(k)) for k in ("url", "youtube_id", "path"))
    if sum(v is not None for v in (url, youtube_id, path)) != 1:
        raise _Refused
    if youtube_id is not None and not _ID.match(youtube_id):
        raise _Refused
    if url is not None:
        if url.split(":", 1)[0].lower() not in ("http", "https") or ":" not in url:
            raise _Refused
        youtube_id = youtube_id_from_url(url)
    if path is not None:
        path = os.path.abspath(os.path.join(base, os.path.expanduser(path)))
    start = _reference_seconds(named.get("start_s"))
    end = _reference_seconds(named.get("end_s"))
    if end is None and start is not None and clip_length is not None:
        end = start + clip_length
    if (start is None) != (end is None) or (start is not None and not start < end):
        raise _Refused
    if youtube_id is not None and url is None:
        url = f"https://www.youtube.com/watch?v={youtube_id}"
    if youtube_id:
        video_id = f"yt-{youtube_id}"
    elif url:
        video_id = "url-" + hashlib.sha256(url.encode()).hexdigest()[:20]
    else:
        video_id = "file-" + hashlib.sha256(path.encode()).hexdigest()[:20]
    labels, split = _reference_text(named.get("labels")), _reference_text(named.get("split"))
    return (video_id, url, youtube_id, path, start, end, labels, split, line)


def _reference_csv(data: bytes, delimiter: str, base: str):
    """The whole file through the csv module, then each row checked on its own."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _Refused from error
    if "\0" in text:
        raise _Refused
    try:
        reader = csv.reader(io.StringIO(text, newline="\n"), delimiter=delimiter,
                            skipinitialspace=True)  # fmt: skip
        lines = [(reader.line_num, row) for row in reader if "".join(row).strip()]
    except csv.Error as error:
        raise _Refused from error
    kept, header_comment = [], None
    for line, row in lines:
        if not row[0].lstrip().startswith("#"):
            kept.append((line, row))
        elif not kept:
            names = [row[0].lstrip().lstrip("#").strip(), *row[1:]]
            if any(n.strip().lower() in ALIASES for n in names):
                header_comment = (line, names)
    lines = ([header_comment] if header_comment else []) + kept
    if not lines:
        raise _Refused
    first = lines[0][1]
    names = [c.strip().lower() for c in first]
    clip_length = None

    def number(t):
        try:
            float(t)
        except ValueError:
            return False
        return True

    if any(n in ALIASES for n in names):
        given = [ALIASES[n] for n in names if n in ALIASES]
        if len(given) != len(set(given)):
            raise _Refused
        header, body = names, lines[1:]
    elif len(first) == 3 and number(first[1]) and number(first[2]):
        header, body = ["youtube_id", "start", "end"], lines
    elif (
        len(first) == 4
        and _ID.match(first[0].strip())
        and number(first[1])
        and not number(first[2])
    ):
        header, body, clip_length = ["youtube_id", "start", "label", "split"], lines, 10.0
    elif len(first) == 1:
        bare = [(line, {"": row[0]}) for line, row in lines]
        values = [f[""].strip() for _, f in bare]
        bad = [v for v in values if "://" not in v
               and os.path.splitext(v)[1].lower() not in VIDEO_EXTENSIONS]  # fmt: skip
        if len(bad) > 0.5 * len(values):
            raise _Refused
        return [_reference_row(line, f, base, None) for line, f in bare]
    else:
        raise _Refused
    if any(len(row) != len(header) for _, row in body):
        raise _Refused
    rows = [_reference_row(line, dict(zip(header, row, strict=True)), base, clip_length)
            for line, row in body]  # fmt: skip
    if not rows:
        raise _Refused
    return rows


_CSV_PIECES = st.sampled_from(
    ["#", " ", ",", '"', "\n", "\n", "\r\n", "\t", "url", "youtube_id", "path", "start", "end",
     "YTID", "videoID", "label", "split", _YOUTUBE, "https://youtu.be/" + _YOUTUBE,
     "http://h/v.mp4", "ftp://h/v", "v.mp4", "~/v.mkv", "/a/b.webm", "notes", "30.000", "1",
     "-1", "x", "inf", "1_0", "nan", "/m/09x0r", "é", "\x00", "\r", "\x1f", "\xa0"]
)  # fmt: skip


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(pieces=st.lists(_CSV_PIECES, max_size=60), kind=st.sampled_from(["csv", "tsv"]))
def test_the_reader_gives_what_a_slow_obvious_reader_gives(tmp_path, block_bytes, pieces, kind):
    data = "".join(pieces).encode("utf-8", "surrogatepass")
    path = tmp_path / f"m.{kind}"
    path.write_bytes(data)
    try:
        expected = _reference_csv(data, "\t" if kind == "tsv" else ",", str(tmp_path))
    except _Refused:
        expected = None
    got = _rows_or_error(path)
    if expected is None:
        assert isinstance(got, ManifestError), got
    else:
        assert got == expected


@settings(max_examples=100, deadline=None)
@given(
    lines=st.lists(
        st.fixed_dictionaries({}, optional={
            "url": st.sampled_from(["http://h/v.mp4", "https://youtu.be/" + _YOUTUBE, "x"]),
            "youtube_id": st.sampled_from([_YOUTUBE, "short"]),
            "path": st.sampled_from(["/a.mp4", "rel/b.mp4"]),
            "start": st.one_of(st.integers(-2, 20), st.floats(), st.none(), st.text(max_size=3)),
            "end": st.one_of(st.integers(0, 40), st.none()),
            "labels": st.one_of(st.text(max_size=5), st.lists(st.integers(), max_size=2)),
        }),
        min_size=1, max_size=8,
    )
)  # fmt: skip
def test_jsonl_reader_gives_what_one_row_at_a_time_gives(tmp_path_factory, lines):
    folder = tmp_path_factory.mktemp("jsonl")
    path = folder / "m.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    try:
        expected = [_reference_row(i, {k: manifest_formats.cell(v) for k, v in line.items()},
                                   str(folder), None)
                    for i, line in enumerate(lines, start=1)]  # fmt: skip
    except _Refused:
        expected = None
    got = _rows_or_error(path)
    assert isinstance(got, ManifestError) if expected is None else got == expected


def test_a_reader_streams_in_batches_and_hashes_the_whole_file(tmp_path, monkeypatch):
    monkeypatch.setattr(manifest_formats, "_READ_BYTES", 64)
    path = tmp_path / "m.csv"
    body = "".join(f"{_YOUTUBE[:-2]}{i:02d},{i}.0,{i + 10}.0\n" for i in range(40))
    path.write_text(body)
    reader = ManifestReader(path, batch_rows=8)
    sizes = [frame.height for frame in reader.batches()]
    assert sum(sizes) == 40 and max(sizes) <= 8 and len(sizes) > 1
    assert reader.sha256 == hashlib.sha256(body.encode()).hexdigest()
    assert reader.n_rows == 40 and reader.n_urls == 40
