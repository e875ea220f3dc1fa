"""Source manifests: the lists of videos a curation starts from.

A manifest is CSV, TSV, Parquet, JSONL or plain text (one URL or path a line), or a folder
(every video file in it). A row names one video by ``url``, ``youtube_id`` or ``path`` and
may carry a known clip window (``start``, ``end`` in seconds) and the dataset's own
``labels`` and ``split``, kept in table ``sources``. The lists researchers already have load
as they are published: ACAV100M (``videoID,start,end``, or the same without a header),
AudioSet's segment CSVs (``#`` comment lines, the last one naming the columns ``YTID,
start_seconds, end_seconds, positive_labels``, spaces after the commas, quoted label lists)
and VGGSound's headerless ``ytid,start,label,split`` (10 s clips from ``start``); the
formats are read in ``manifest_formats``.

A manifest is read as a stream (``ManifestReader``): batches of checked rows, memory flat in
the number of rows, the file's sha256 once the last batch is out. Every problem is a
``ManifestError`` naming the file and the line, so a bad manifest is rejected (registration
writes nothing before the whole file is read) and never half-registered. A plain-text list
whose lines are mostly neither URLs nor paths of video files (a README, a log dropped into
``sources/``) is refused, naming its first such lines.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO
from urllib.parse import parse_qs, urlparse

import polars as pl

from acav_assets.core.media.manifest_formats import (
    BARE,
    WHITESPACE,
    ManifestError,
    RawBatch,
    delimited_batches,
    jsonl_batches,
    parquet_batches,
    text_batches,
)
from acav_assets.core.storage import StorageRoot

VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".webm", ".mkv", ".mov", ".avi", ".m4v", ".flv", ".mpg", ".mpeg", ".ts", ".ogv"}
)
_VIDEO_SUFFIX = r"\.(" + "|".join(sorted(e[1:] for e in VIDEO_EXTENSIONS)) + r")$"
_YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_YOUTUBE_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com"}
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
BATCH_ROWS = 65_536
_CHUNK = 1 << 20
# A bare-line list is refused when more than this share of its lines is neither a URL nor
# a path with a video extension; the error names this many of them.
_MOSTLY = 0.5
_NAMED_BAD_LINES = 3


@dataclass(frozen=True)
class Manifest:
    """A whole checked manifest in memory: one row per line, in file order (rows may
    repeat a video). For small lists and checks; registration streams (``ManifestReader``)."""

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


class _HashingReader:
    """A binary file that hashes what is read from it, in order."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        return data


class ManifestReader:
    """One pass over a manifest: ``batches()`` yields frames of checked rows (``ROW_SCHEMA``,
    at most ``batch_rows`` each), then ``sha256``, ``n_rows`` and ``n_urls`` are known.

    A URL such as ``s3://bucket/acav/sources/list.csv`` (a manifest dropped into an object
    store) is read through ``root``'s filesystem and credentials; its paths must be absolute.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        root: StorageRoot | None = None,
        batch_rows: int = BATCH_ROWS,
    ) -> None:
        text = os.fspath(path)
        self.remote = "://" in text and not text.startswith("file://")
        if self.remote and (root is None or root.is_local):
            raise ManifestError(text, None, "a manifest URL is read only through a remote root")
        self.fs = root.fs if self.remote and root is not None else None
        self.source = text if self.remote else os.path.abspath(text.removeprefix("file://"))
        self.batch_rows = batch_rows
        self.sha256: str | None = None
        self.n_rows = 0
        self.n_urls = 0

    @contextlib.contextmanager
    def _open(self) -> Iterator[IO[bytes]]:
        try:
            if self.fs is not None:
                if not self.fs.isfile(self.source):
                    raise ManifestError(self.source, None, "no such file")
                with self.fs.open(self.source, "rb") as handle:
                    yield handle
            else:
                if not os.path.isfile(self.source):
                    raise ManifestError(self.source, None, "no such file")
                with open(self.source, "rb") as handle:
                    yield handle
        except (PermissionError, IsADirectoryError) as error:
            raise ManifestError(self.source, None, f"cannot be read: {error}") from error

    def batches(self) -> Iterator[pl.DataFrame]:
        """The checked rows in file order; raise ``ManifestError`` at the first bad line."""
        self.n_rows = self.n_urls = 0
        if not self.remote and os.path.isdir(self.source):
            raw, digest = _folder_batch(self.source)
            yield from self._checked(iter([raw]), base=self.source)
            self.sha256 = digest
            return
        suffix = os.path.splitext(self.source)[1].lower()
        base = None if self.remote else os.path.dirname(self.source)
        size = self.batch_rows
        with self._open() as handle:
            if suffix == ".parquet":
                yield from self._checked(parquet_batches(self.source, handle, size), base)
                self.sha256 = _file_sha256(self)
                return
            hashing = _HashingReader(handle)
            if suffix in (".csv", ".tsv"):
                delimiter = "\t" if suffix == ".tsv" else ","
                raw = delimited_batches(self.source, hashing, delimiter, _YOUTUBE_ID, size)
            elif suffix in (".jsonl", ".ndjson"):
                raw = jsonl_batches(self.source, hashing, size)
            else:
                raw = text_batches(self.source, hashing, size)
            yield from self._checked(raw, base)
            while hashing.read(_CHUNK):  # the hash is of the whole file
                pass
            self.sha256 = hashing.digest.hexdigest()

    def _checked(self, raw: Iterator[RawBatch], base: str | None) -> Iterator[pl.DataFrame]:
        bare = _BareLines()
        for batch in raw:
            if BARE in batch.columns:
                bare.count(batch)
            frame = checked_rows(self.source, base, batch)
            self.n_rows += frame.height
            self.n_urls += frame.height - frame["url"].null_count()
            yield frame
        bare.check(self.source)
        if self.n_rows == 0:
            raise ManifestError(self.source, None, "no videos listed")


def _file_sha256(reader: ManifestReader) -> str:
    digest = hashlib.sha256()
    with reader._open() as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class _BareLines:
    """Counts the bare lines of a list that look like neither a URL nor a video path."""

    def __init__(self) -> None:
        self.total = 0
        self.n_bad = 0
        self.bad: list[tuple[int, str]] = []

    def count(self, batch: RawBatch) -> None:
        text = pl.Series(batch.columns[BARE], dtype=pl.String).str.strip_chars(WHITESPACE)
        good = text.str.contains("://", literal=True) | text.str.to_lowercase().str.contains(
            _VIDEO_SUFFIX
        )
        self.total += len(text)
        self.n_bad += int((~good).sum())
        for index in (~good).arg_true()[: _NAMED_BAD_LINES - len(self.bad)]:
            self.bad.append((batch.lines[index], text[index][:60]))

    def check(self, source: str) -> None:
        if self.total and self.n_bad > _MOSTLY * self.total:
            named = ", ".join(f"line {line} {text!r}" for line, text in self.bad)
            raise ManifestError(
                source,
                self.bad[0][0],
                f"not a list of videos: {self.n_bad} of {self.total} lines are neither a URL "
                f"nor a path with a video extension ({named})",
            )


def _folder_batch(source: str) -> tuple[RawBatch, str]:
    """Every video file of a folder (by extension), sorted, and a digest of names and sizes."""
    names = sorted(
        name
        for name in os.listdir(source)
        if os.path.splitext(name)[1].lower() in VIDEO_EXTENSIONS
        and os.path.isfile(os.path.join(source, name))
    )
    if not names:
        raise ManifestError(source, None, f"no video files ({', '.join(sorted(VIDEO_EXTENSIONS))})")
    digest = hashlib.sha256()
    for name in names:
        digest.update(f"{name}\0{os.path.getsize(os.path.join(source, name))}\n".encode())
    paths = [os.path.join(source, name) for name in names]
    return RawBatch(list(range(1, len(names) + 1)), {"path": paths}), digest.hexdigest()


def load_manifest(path: str | os.PathLike[str], root: StorageRoot | None = None) -> Manifest:
    """Read and check a whole manifest into memory; raise ``ManifestError`` at the first bad
    line. For lists that fit in memory: registering one streams instead."""
    reader = ManifestReader(path, root)
    frames = list(reader.batches())
    return Manifest(source=reader.source, sha256=str(reader.sha256), rows=pl.concat(frames))


def _hash_ids(prefix: str, values: pl.Series, wanted: pl.Series) -> pl.Series:
    """``prefix`` + a hash of each value where ``wanted``; null elsewhere."""
    if not wanted.any():
        return pl.Series([None] * len(values), dtype=pl.String)
    return pl.Series(
        [prefix + hashlib.sha256(v.encode()).hexdigest()[:20] if w and v is not None else None
         for v, w in zip(values.to_list(), wanted.to_list(), strict=True)],
        dtype=pl.String,
    )  # fmt: skip


def _python_seconds(text: pl.Series, parsed: pl.Series) -> pl.Series:
    """``parsed``, with Python's ``float`` where polars could not read a number (``1_000``)."""
    missed = (text.is_not_null() & parsed.is_null()).arg_true().to_list()
    if not missed:
        return parsed
    values = parsed.to_list()
    for index in missed:
        try:
            values[index] = float(text[index])
        except ValueError:
            continue
    return pl.Series(values, dtype=pl.Float64)


def _first_problem(checks: list[tuple[pl.Series, str]]) -> tuple[int, str] | None:
    """The first row (in file order) that fails a check, and that row's first failed check."""
    found = [(int(mask.arg_true()[0]), order) for order, (mask, _) in enumerate(checks)
             if mask.any()]  # fmt: skip
    if not found:
        return None
    row, order = min(found)
    return row, checks[order][1]


def checked_rows(source: str, base: str | None, batch: RawBatch) -> pl.DataFrame:
    """A batch of rows as ``ROW_SCHEMA``, or ``ManifestError`` at its first bad line.

    Every check runs on the whole batch at once (the rules of one row, in this order: a
    video named exactly once; a valid YouTube id; an http(s) URL; an absolute path in a
    remote manifest; start and end numbers >= 0, both or neither, start before end).
    """
    n = len(batch)

    def text(name: str) -> pl.Series:
        values = batch.columns.get(name)
        if values is None:
            return pl.Series(name, [None] * n, dtype=pl.String)
        series = pl.Series(name, values, dtype=pl.String).str.strip_chars(WHITESPACE)
        return series.replace("", None)

    if BARE in batch.columns:
        bare = text(BARE)
        is_url = bare.str.contains("://", literal=True)
        url = bare.zip_with(is_url, pl.Series([None] * n, dtype=pl.String)).alias("url")
        path = bare.zip_with(~is_url, pl.Series([None] * n, dtype=pl.String)).alias("path")
        youtube_id = text("youtube_id")
    else:
        url, youtube_id, path = text("url"), text("youtube_id"), text("path")
    given = url.is_not_null().cast(int) + youtube_id.is_not_null() + path.is_not_null()
    if path.str.starts_with("~").any():
        path = pl.Series("path", [p if p is None else os.path.expanduser(p) for p in path],
                         dtype=pl.String)  # fmt: skip
    start_text, end_text = text("start_s"), text("end_s")
    start = _python_seconds(start_text, start_text.cast(pl.Float64, strict=False))
    end = _python_seconds(end_text, end_text.cast(pl.Float64, strict=False))
    if batch.clip_length is not None:
        end = end.zip_with(end.is_not_null() | start.is_null(), start + batch.clip_length)

    def bad_number(raw: pl.Series, value: pl.Series) -> tuple[pl.Series, pl.Series]:
        unreadable = raw.is_not_null() & value.is_null()
        out_of_range = value.is_not_null() & (value.is_nan() | value.is_infinite() | (value < 0))
        return unreadable, out_of_range.fill_null(False)

    start_unreadable, start_range = bad_number(start_text, start)
    end_unreadable, end_range = bad_number(end_text, end)

    def message(row: int, kind: str) -> str:
        if kind == "given":
            named = [k for k, s in (("url", url), ("youtube_id", youtube_id), ("path", path))
                     if s[row] is not None]  # fmt: skip
            problem = "names no video" if not named else f"names a video twice ({', '.join(named)})"
            return f"{problem}: give exactly one of url, youtube_id, path"
        if kind == "youtube_id":
            return f"youtube_id {youtube_id[row]!r} is not 11 of [A-Za-z0-9_-]"
        if kind == "url":
            return f"url {url[row]!r} is not http(s)"
        if kind == "relative":
            return f"path {path[row]!r} is relative in a remote manifest"
        if kind in ("start", "end"):
            raw = (start_text if kind == "start" else end_text)[row]
            if (start_unreadable if kind == "start" else end_unreadable)[row]:
                return f"{kind} {raw!r} is not a number of seconds"
            return f"{kind} {raw!r} must be a finite number >= 0"
        if kind == "both":
            return "give both start and end, or neither"
        return f"start {start[row]} is not before end {end[row]}"

    checks: list[tuple[pl.Series, str]] = [
        (given != 1, "given"),
        (youtube_id.is_not_null() & ~youtube_id.str.contains(_YOUTUBE_ID.pattern).fill_null(True),
         "youtube_id"),
        ((url.is_not_null() & ~url.str.contains(r"(?i)^https?:")).fill_null(False), "url"),
        ((path.is_not_null() & ~path.str.starts_with("/")).fill_null(False) if base is None
         else pl.Series([False] * n), "relative"),
        (start_unreadable | start_range, "start"),
        (end_unreadable | end_range, "end"),
        (start.is_null() != end.is_null(), "both"),
        ((start >= end).fill_null(False), "order"),
    ]  # fmt: skip
    if (problem := _first_problem(checks)) is not None:
        row, kind = problem
        raise ManifestError(source, batch.lines[row], message(row, kind))
    # URLs of YouTube videos name their video by its id, so two spellings give one video
    maybe_youtube = url.str.contains(r"(?i)youtu").fill_null(False)
    if maybe_youtube.any():
        from_url = [
            youtube_id_from_url(u) if hit else None
            for u, hit in zip(url.to_list(), maybe_youtube.to_list(), strict=True)
        ]
        youtube_id = youtube_id.zip_with(youtube_id.is_not_null(),
                                         pl.Series(from_url, dtype=pl.String))  # fmt: skip
    if path.is_not_null().any():
        path = pl.Series([p if p is None else os.path.abspath(os.path.join(base or "", p))
                          for p in path.to_list()], dtype=pl.String)  # fmt: skip
    watch = ("https://www.youtube.com/watch?v=" + youtube_id).alias("url")
    url = url.zip_with(url.is_not_null(), watch)
    no_id = youtube_id.is_null()
    by_url = _hash_ids("url-", url, no_id & url.is_not_null())
    video_id = ("yt-" + youtube_id).zip_with(
        ~no_id, by_url.zip_with(by_url.is_not_null(), _hash_ids("file-", path, no_id))
    )
    return pl.DataFrame(
        {
            "video_id": video_id, "url": url, "youtube_id": youtube_id, "path": path,
            "start_s": start, "end_s": end, "labels": text("labels"), "split": text("split"),
            "line": pl.Series(batch.lines, dtype=pl.Int64),
        },
        schema=ROW_SCHEMA,
    )  # fmt: skip
