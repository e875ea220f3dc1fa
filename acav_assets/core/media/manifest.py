"""Source manifests: the lists of videos a curation starts from.

A manifest is CSV, TSV, Parquet, JSONL or plain text (one URL or path a line), or a folder
(every video file in it). A row names one video by ``url``, ``youtube_id`` or ``path`` and
may carry a known clip window (``start``, ``end`` in seconds) and the dataset's own
``labels`` and ``split``, kept in table ``sources``. The lists researchers already have load
as they are published: ACAV100M (``videoID,start,end``, or the same without a header),
AudioSet's segment CSVs (``#`` comment lines, the last one naming the columns ``YTID,
start_seconds, end_seconds, positive_labels``, spaces after the commas, quoted label lists)
and VGGSound's headerless ``ytid,start,label,split`` (10 s clips from ``start``). In CSV and
TSV a line whose first cell starts with ``#`` is a comment. The whole file is checked before
anything is returned, so a bad manifest is rejected at once, with its file and line, and
never half-registered.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

import polars as pl
import pyarrow.parquet as pq

from acav_assets.core.storage import StorageRoot

VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".webm", ".mkv", ".mov", ".avi", ".m4v", ".flv", ".mpg", ".mpeg", ".ts", ".ogv"}
)
_YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_YOUTUBE_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com"}
_ALIASES = {
    "url": "url",
    "youtube_id": "youtube_id",
    "ytid": "youtube_id",  # AudioSet
    "yt_id": "youtube_id",
    "videoid": "youtube_id",  # ACAV100M
    "path": "path",
    "start": "start_s",
    "start_s": "start_s",
    "start_seconds": "start_s",  # AudioSet
    "end": "end_s",
    "end_s": "end_s",
    "end_seconds": "end_s",  # AudioSet
    "labels": "labels",
    "label": "labels",
    "positive_labels": "labels",  # AudioSet
    "split": "split",
}
ROW_SCHEMA = {
    "video_id": pl.String,
    "url": pl.String,
    "youtube_id": pl.String,
    "path": pl.String,
    "start_s": pl.Float64,
    "end_s": pl.Float64,
    "labels": pl.String,
    "split": pl.String,
    "line": pl.Int64,
}
VGGSOUND_CLIP_S = 10.0  # VGGSound's clips: 10 s from the listed start
_CLIP_LENGTH = "\0clip_length"  # a record's known clip length, where the list implies one


class ManifestError(ValueError):
    """A manifest that cannot be registered: names the file, the line and what is wrong."""

    def __init__(self, file: str, line: int | None, problem: str) -> None:
        self.file = file
        self.line = line
        self.problem = problem
        where = f"{file}, line {line}" if line is not None else file
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class Manifest:
    """A checked manifest: one row per line, in file order (rows may repeat a video)."""

    source: str
    sha256: str
    rows: pl.DataFrame

    @property
    def n_videos(self) -> int:
        return self.rows["video_id"].n_unique()


def youtube_id_from_url(url: str) -> str | None:
    """The YouTube id of a watch, short or shorts URL, so both spellings give one video."""
    parsed = urlparse(url)
    host = (parsed.hostname or "").lower()
    candidate = None
    if host in _YOUTUBE_HOSTS:
        if parsed.path == "/watch":
            candidate = parse_qs(parsed.query).get("v", [None])[0]
        elif parsed.path.startswith(("/shorts/", "/embed/", "/live/")):
            candidate = parsed.path.split("/")[2]
    elif host == "youtu.be":
        candidate = parsed.path.lstrip("/").split("/")[0]
    return candidate if candidate and _YOUTUBE_ID.match(candidate) else None


def video_id_for(*, url: str | None, youtube_id: str | None, path: str | None) -> str:
    """A stable id: ``yt-<id>`` for YouTube, else a hash of the URL or the absolute path."""
    if youtube_id:
        return f"yt-{youtube_id}"
    if url:
        return "url-" + hashlib.sha256(url.encode()).hexdigest()[:20]
    if path:
        return "file-" + hashlib.sha256(path.encode()).hexdigest()[:20]
    raise ValueError("a video needs a url, a youtube_id or a path")


def load_manifest(path: str | os.PathLike[str], root: StorageRoot | None = None) -> Manifest:
    """Read and check a whole manifest; raise ``ManifestError`` at the first bad line.

    A URL such as ``s3://bucket/acav/sources/list.csv`` (a manifest dropped into an object
    store) is read through ``root``'s filesystem and credentials; its paths must be absolute.
    """
    text = os.fspath(path)
    if "://" in text and not text.startswith("file://"):
        if root is None or root.is_local:
            raise ManifestError(text, None, "a manifest URL is read only through a remote root")
        if not root.fs.isfile(text):
            raise ManifestError(text, None, "no such file")
        return _parse(text, root.fs.cat_file(text), base=None)
    source = os.path.abspath(text)
    if os.path.isdir(source):
        return _load_folder(source)
    if not os.path.isfile(source):
        raise ManifestError(source, None, "no such file")
    return _parse(source, _read_bytes(source), base=os.path.dirname(source))


def _parse(source: str, data: bytes, base: str | None) -> Manifest:
    suffix = os.path.splitext(source)[1].lower()
    if suffix in (".csv", ".tsv"):
        records = _delimited_records(source, data, "\t" if suffix == ".tsv" else ",")
    elif suffix == ".parquet":
        records = _parquet_records(source, data)
    elif suffix in (".jsonl", ".ndjson"):
        records = _jsonl_records(source, data)
    else:
        records = _text_records(source, data)
    rows = [_check_row(source, line, fields, base) for line, fields in records]
    if not rows:
        raise ManifestError(source, None, "no videos listed")
    frame = pl.DataFrame(rows, schema=ROW_SCHEMA, orient="row")
    return Manifest(source=source, sha256=hashlib.sha256(data).hexdigest(), rows=frame)


def _read_bytes(source: str) -> bytes:
    with open(source, "rb") as handle:
        return handle.read()


def _load_folder(source: str) -> Manifest:
    names = sorted(
        name
        for name in os.listdir(source)
        if os.path.splitext(name)[1].lower() in VIDEO_EXTENSIONS
        and os.path.isfile(os.path.join(source, name))
    )
    if not names:
        raise ManifestError(source, None, f"no video files ({', '.join(sorted(VIDEO_EXTENSIONS))})")
    digest = hashlib.sha256()
    rows = []
    for line, name in enumerate(names, start=1):
        full = os.path.join(source, name)
        digest.update(f"{name}\0{os.path.getsize(full)}\n".encode())
        rows.append(
            (video_id_for(url=None, youtube_id=None, path=full), None, None, full)
            + (None, None, None, None, line)
        )
    frame = pl.DataFrame(rows, schema=ROW_SCHEMA, orient="row")
    return Manifest(source=source, sha256=digest.hexdigest(), rows=frame)


def _decode(source: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ManifestError(source, line, f"not UTF-8 text ({error.reason})") from error


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _without_comments(rows: list[tuple[int, list[str]]]) -> list[tuple[int, list[str]]]:
    """The rows that are not ``#`` comments; a comment before the data that names known
    columns (AudioSet's ``# YTID, start_seconds, ...``) becomes the header row."""
    kept: list[tuple[int, list[str]]] = []
    header = None
    for line, row in rows:
        if not row[0].lstrip().startswith("#"):
            kept.append((line, row))
            continue
        names = [row[0].lstrip().lstrip("#").strip(), *row[1:]]
        if not kept and any(name.strip().lower() in _ALIASES for name in names):
            header = (line, names)
    return ([header] if header else []) + kept


def _delimited_records(source: str, data: bytes, delimiter: str):
    reader = csv.reader(
        io.StringIO(_decode(source, data), newline=""),
        delimiter=delimiter,
        skipinitialspace=True,  # AudioSet writes ', "a,b"' after its commas
    )
    lines = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    lines = _without_comments(lines)
    if not lines:
        return []
    first_line, first = lines[0]
    implied: dict[str, float] = {}
    names = [cell.strip().lower() for cell in first]
    if any(name in _ALIASES for name in names):
        header, body = names, lines[1:]
        given = [_ALIASES[n] for n in names if n in _ALIASES]
        repeated = sorted({n for n in names if n in _ALIASES and given.count(_ALIASES[n]) > 1})
        if repeated:
            raise ManifestError(source, first_line, f"repeated columns {repeated}")
    elif len(first) == 3 and _is_number(first[1]) and _is_number(first[2]):
        header, body = ["youtube_id", "start", "end"], lines  # the ACAV100M list as published
    elif (
        len(first) == 4
        and _YOUTUBE_ID.match(first[0].strip())
        and _is_number(first[1])
        and not _is_number(first[2])
    ):
        header, body = ["youtube_id", "start", "label", "split"], lines  # VGGSound's list
        implied = {_CLIP_LENGTH: VGGSOUND_CLIP_S}
    elif len(first) == 1:
        return [(line, {"": row[0]}) for line, row in lines]
    else:
        raise ManifestError(
            source,
            first_line,
            "no header naming url, youtube_id or path (and not ACAV's 'youtube_id,start,end' "
            "or VGGSound's 'youtube_id,start,label,split' rows)",
        )
    records = []
    for line, row in body:
        if len(row) != len(header):
            raise ManifestError(source, line, f"{len(row)} fields, the header has {len(header)}")
        records.append((line, dict(zip(header, row, strict=True)) | implied))
    return records


def _parquet_records(source: str, data: bytes):
    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception as error:  # pyarrow raises several types for a broken file
        raise ManifestError(source, None, f"not a readable Parquet file: {error}") from error
    names = [name.lower() for name in table.column_names]
    if not any(name in _ALIASES for name in names):
        raise ManifestError(source, None, f"no column url, youtube_id or path in {names}")
    rows = table.rename_columns(names).to_pylist()
    return [(index, row) for index, row in enumerate(rows, start=1)]


def _jsonl_records(source: str, data: bytes):
    records = []
    for line, text in enumerate(_decode(source, data).splitlines(), start=1):
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            raise ManifestError(source, line, f"invalid JSON: {error.msg}") from error
        if not isinstance(value, dict):
            raise ManifestError(source, line, f"expected a JSON object, got {type(value).__name__}")
        records.append((line, {str(k).lower(): v for k, v in value.items()}))
    return records


def _text_records(source: str, data: bytes):
    records = []
    for line, text in enumerate(_decode(source, data).splitlines(), start=1):
        text = text.strip()
        if text and not text.startswith("#"):
            records.append((line, {"": text}))
    return records


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    text = str(value).strip()
    return text or None


def _seconds(source: str, line: int, name: str, value: object) -> float | None:
    text = _text(value)
    if text is None:
        return None
    try:
        seconds = float(text)
    except ValueError as error:
        raise ManifestError(source, line, f"{name} {text!r} is not a number of seconds") from error
    if not math.isfinite(seconds) or seconds < 0:
        raise ManifestError(source, line, f"{name} {text!r} must be a finite number >= 0")
    return seconds


def _check_row(source: str, line: int, fields: dict, base: str | None) -> tuple:
    if "" in fields:  # a bare line: a URL or a path
        bare = fields[""].strip()
        named = {"url": bare} if "://" in bare else {"path": bare}
    else:
        named = {_ALIASES[k]: v for k, v in fields.items() if k in _ALIASES}
    url, youtube_id, path = (_text(named.get(k)) for k in ("url", "youtube_id", "path"))
    given = [k for k, v in (("url", url), ("youtube_id", youtube_id), ("path", path)) if v]
    if len(given) != 1:
        problem = "names no video" if not given else f"names a video twice ({', '.join(given)})"
        raise ManifestError(source, line, f"{problem}: give exactly one of url, youtube_id, path")
    if youtube_id is not None and not _YOUTUBE_ID.match(youtube_id):
        raise ManifestError(source, line, f"youtube_id {youtube_id!r} is not 11 of [A-Za-z0-9_-]")
    if url is not None:
        scheme = urlparse(url).scheme.lower()
        if scheme not in ("http", "https"):
            raise ManifestError(source, line, f"url {url!r} is not http(s)")
        youtube_id = youtube_id_from_url(url)
    if path is not None:
        path = os.path.expanduser(path)
        if base is None and not os.path.isabs(path):
            raise ManifestError(source, line, f"path {path!r} is relative in a remote manifest")
        path = os.path.abspath(os.path.join(base or "", path))
    start = _seconds(source, line, "start", named.get("start_s"))
    end = _seconds(source, line, "end", named.get("end_s"))
    if end is None and start is not None and _CLIP_LENGTH in fields:
        end = start + fields[_CLIP_LENGTH]
    if (start is None) != (end is None):
        raise ManifestError(source, line, "give both start and end, or neither")
    if start is not None and end is not None and not start < end:
        raise ManifestError(source, line, f"start {start} is not before end {end}")
    if youtube_id is not None and url is None:
        url = f"https://www.youtube.com/watch?v={youtube_id}"
    video_id = video_id_for(url=url, youtube_id=youtube_id, path=path)
    labels, split = _text(named.get("labels")), _text(named.get("split"))
    return (video_id, url, youtube_id, path, start, end, labels, split, line)
