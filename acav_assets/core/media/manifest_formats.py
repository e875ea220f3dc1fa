"""The formats a manifest comes in, each read as a stream of ``RawBatch``es of its fields.

CSV and TSV (with the header rules of the lists researchers publish: ACAV100M's bare
``videoID,start,end``, AudioSet's ``#`` comment header, VGGSound's ``ytid,start,label,split``),
JSON lines, Parquet, and plain text (one URL or path a line). A reader holds one batch of
rows at a time, so memory does not grow with the file; a line longer than
``MAX_LINE_BYTES`` is refused rather than read. What the fields mean is checked by the
caller, a batch at a time (``manifest.checked_rows``). Whatever the bytes, a reader yields records
or raises ``ManifestError`` naming the file and the line: a field over the csv module's
limit, JSON that Python refuses (nesting, a number of 5,000 digits), a byte that is not
UTF-8, a NUL byte (a binary file) are errors of the manifest, never of acav.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import polars as pl
import pyarrow.parquet as pq

from acav_assets.core.redaction import redact

MAX_LINE_BYTES = 1 << 20
_READ_BYTES = 1 << 20
PARQUET_BATCH_ROWS = 65_536
# What ``str.strip`` strips: polars strips Unicode White_Space, which leaves out the four
# separators U+001C..U+001F, so the vectorised path names the set to agree with the row path.
WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
ALIASES = {
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
FIELDS = ("url", "youtube_id", "path", "start_s", "end_s", "labels", "split")
BARE = "bare"  # the field of a list of bare lines: each a URL or a path
VGGSOUND_CLIP_S = 10.0  # VGGSound's clips: 10 s from the listed start


@dataclass
class RawBatch:
    """Rows of a manifest as read: their line numbers and, per field they give (``FIELDS``,
    or ``BARE``), one value a row (text, or what JSON and Parquet hold); ``clip_length`` is
    the clip length the list implies where it gives only starts."""

    lines: list[int] = field(default_factory=list)
    columns: dict[str, list[Any]] = field(default_factory=dict)
    clip_length: float | None = None

    def __len__(self) -> int:
        return len(self.lines)


class ManifestError(ValueError):
    """A manifest that cannot be registered: names the file, the line and what is wrong
    (any URL quoted without its credentials)."""

    def __init__(self, file: str, line: int | None, problem: str) -> None:
        self.file = redact(file)
        self.line = line
        self.problem = redact(problem)
        where = f"{self.file}, line {line}" if line is not None else self.file
        super().__init__(f"{where}: {self.problem}")


def decoded_blocks(source: str, handle: IO[bytes]) -> Iterator[tuple[int, str]]:
    """The file as blocks of whole lines, decoded as UTF-8 (a BOM at the start is dropped):
    ``(number of the block's first line, text)``. A line that is too long, not UTF-8, or
    holds a NUL byte is an error naming its line."""
    first, pending, start = 1, b"", True
    while chunk := handle.read(_READ_BYTES):
        data = pending + chunk
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            if len(data) > MAX_LINE_BYTES:
                raise ManifestError(source, first, f"a line longer than {MAX_LINE_BYTES} bytes")
            pending = data
            continue
        block, pending = data[:cut], data[cut:]
        yield first, _decoded(source, first, block, start)
        first += block.count(b"\n")
        start = False
    if pending:
        if len(pending) > MAX_LINE_BYTES:
            raise ManifestError(source, first, f"a line longer than {MAX_LINE_BYTES} bytes")
        yield first, _decoded(source, first, pending, start)


def _decoded(source: str, first: int, block: bytes, start: bool) -> str:
    try:
        text = block.decode("utf-8-sig" if start else "utf-8")
    except UnicodeDecodeError as error:
        line = first + block.count(b"\n", 0, error.start)
        column = error.start - (block.rfind(b"\n", 0, error.start) + 1) + 1
        where = f"{error.reason} at byte {column} of the line"
        raise ManifestError(source, line, f"not UTF-8 text ({where})") from error
    if "\0" in text:
        line = first + text.count("\n", 0, text.index("\0"))
        raise ManifestError(source, line, "a NUL byte: a binary file, not a manifest")
    return text


def decoded_lines(source: str, handle: IO[bytes]) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of each line (see ``decoded_blocks``)."""
    for first, text in decoded_blocks(source, handle):
        yield from enumerate(io.StringIO(text, newline="\n"), start=first)


def cell(value: Any) -> str | None:
    """A JSON or Parquet value as the text of a field (``None`` and NaN: no value)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _header(
    source: str, line: int, first: list[str], youtube_id: Any
) -> tuple[list[str] | None, dict[str, float], bool]:
    """What the first row says: ``(header, implied fields, whether the row is data)``;
    header ``None`` for a one-column list of bare lines."""
    names = [cell.strip().lower() for cell in first]
    if any(name in ALIASES for name in names):
        given = [ALIASES[n] for n in names if n in ALIASES]
        repeated = sorted({n for n in names if n in ALIASES and given.count(ALIASES[n]) > 1})
        if repeated:
            raise ManifestError(source, line, f"repeated columns {repeated}")
        return names, {}, False
    if len(first) == 3 and _is_number(first[1]) and _is_number(first[2]):
        return ["youtube_id", "start", "end"], {}, True  # the ACAV100M list as published
    if (
        len(first) == 4
        and youtube_id.match(first[0].strip())
        and _is_number(first[1])
        and not _is_number(first[2])
    ):
        return ["youtube_id", "start", "label", "split"], {"clip_length": VGGSOUND_CLIP_S}, True
    if len(first) == 1:
        return None, {}, True
    raise ManifestError(
        source,
        line,
        "no header naming url, youtube_id or path (and not ACAV's 'youtube_id,start,end' "
        "or VGGSound's 'youtube_id,start,label,split' rows)",
    )


def _check_width(source: str, line: int, row: list[str], header: list[str] | None) -> None:
    if header is not None and len(row) != len(header):
        raise ManifestError(source, line, f"{len(row)} fields, the header has {len(header)}")


class _Layout:
    """What a delimited list's first rows said: its header (``None``: bare lines), the clip
    length it implies; ``decided`` once the first data row has been seen."""

    def __init__(self) -> None:
        self.header: list[str] | None = None
        self.clip_length: float | None = None
        self.decided = False
        self.comment_header: tuple[int, list[str]] | None = None

    @property
    def width(self) -> int:
        return len(self.header) if self.header is not None else 1

    def batch(self, lines: list[int], rows: list[list[str]]) -> RawBatch:
        if self.header is None:
            return RawBatch(lines, {BARE: [row[0] for row in rows]})
        transposed = list(zip(*rows, strict=True)) if rows else [()] * self.width
        columns = {
            ALIASES[name]: list(values)
            for name, values in zip(self.header, transposed, strict=True)
            if name in ALIASES
        }
        return RawBatch(lines, columns, self.clip_length)


def _csv_batches(
    source: str,
    lines: Iterator[str],
    offset: int,
    delimiter: str,
    layout: _Layout,
    youtube_id: Any,
    batch_rows: int,
) -> Iterator[RawBatch]:
    """Rows through the csv module (quoted fields, a header still to find); ``offset`` is
    the number of lines before ``lines``."""
    reader = csv.reader(lines, delimiter=delimiter, skipinitialspace=True)
    numbers: list[int] = []
    rows: list[list[str]] = []
    try:
        for row in reader:
            if not "".join(row).strip():
                continue
            line = offset + reader.line_num
            if row[0].lstrip().startswith("#"):
                names = [row[0].lstrip().lstrip("#").strip(), *row[1:]]
                if not layout.decided and any(n.strip().lower() in ALIASES for n in names):
                    layout.comment_header = (line, names)
                continue
            if not layout.decided:
                layout.decided = True
                if layout.comment_header is not None:
                    found = _header(source, *layout.comment_header, youtube_id)
                else:
                    found = _header(source, line, row, youtube_id)
                layout.header, implied, is_data = found[0], found[1], found[2]
                layout.clip_length = implied.get("clip_length")
                if not is_data and layout.comment_header is None:
                    continue
            if len(row) != layout.width and layout.header is not None:
                problem = f"{len(row)} fields, the header has {layout.width}"
                raise ManifestError(source, line, problem)
            numbers.append(line)
            rows.append(row)
            if len(rows) >= batch_rows:
                yield layout.batch(numbers, rows)
                numbers, rows = [], []
    except csv.Error as error:
        raise ManifestError(source, offset + reader.line_num, f"not valid CSV: {error}") from error
    if rows:
        yield layout.batch(numbers, rows)


def _split_batch(
    source: str, first: int, text: str, delimiter: str, layout: _Layout
) -> RawBatch | None:
    """A block without quotes, split into fields by polars: one line is one row."""
    lines = pl.Series(text.split("\n")).str.strip_suffix("\r")
    frame = pl.DataFrame(
        {"text": lines, "line": pl.int_range(first, first + len(lines), eager=True)}
    )
    text_column = pl.col("text")
    blank = text_column.str.replace_all(delimiter, "", literal=True).str.strip_chars(WHITESPACE)
    comment = text_column.str.strip_chars_start(WHITESPACE).str.starts_with("#")
    frame = frame.filter((blank != "") & ~comment)
    if frame.height == 0:
        return None
    fields = frame["text"].str.split(delimiter)
    if layout.header is not None:
        widths = fields.list.len()
        wrong = (widths != layout.width).arg_true()
        if len(wrong):
            row = int(wrong[0])
            problem = f"{widths[row]} fields, the header has {layout.width}"
            raise ManifestError(source, int(frame["line"][row]), problem)
        columns = {
            ALIASES[name]: fields.list.get(index).str.strip_chars_start(" ")
            for index, name in enumerate(layout.header)
            if name in ALIASES
        }
    else:
        columns = {BARE: fields.list.get(0)}
    return RawBatch(frame["line"].to_list(), columns, layout.clip_length)


def delimited_batches(
    source: str, handle: IO[bytes], delimiter: str, youtube_id: Any, batch_rows: int
) -> Iterator[RawBatch]:
    """CSV or TSV rows in batches. A line whose first cell starts with ``#`` is a comment;
    the last comment before the data that names known columns (AudioSet's ``# YTID,
    start_seconds, ...``) is the header.

    Blocks of lines without quotes (ACAV's and VGGSound's lists) are split by polars, a
    block at a time; from the first block with a quote (or a lone carriage return) on, the
    csv module reads the rest, so a quoted field may span lines.
    """
    layout = _Layout()
    blocks = decoded_blocks(source, handle)
    for first, text in blocks:
        if '"' in text or ("\r" in text and text.count("\r") != text.count("\r\n")):
            rest = (piece for _, block in blocks for piece in io.StringIO(block, newline="\n"))
            lines = itertools.chain(io.StringIO(text, newline="\n"), rest)
            yield from _csv_batches(
                source, lines, first - 1, delimiter, layout, youtube_id, batch_rows
            )
            return
        if not layout.decided:
            yield from _csv_batches(
                source, io.StringIO(text, newline="\n"), first - 1, delimiter, layout,
                youtube_id, batch_rows,
            )  # fmt: skip
            continue
        if (batch := _split_batch(source, first, text, delimiter, layout)) is not None:
            yield batch


def _dict_batch(records: list[tuple[int, dict[str, Any]]]) -> RawBatch:
    """Rows given as ``{name: value}`` (JSON, Parquet) as a batch of their known fields."""
    columns: dict[str, list[Any]] = {}
    for index, (_, row) in enumerate(records):
        for name, value in row.items():
            canonical = ALIASES.get(name)
            if canonical is not None:
                columns.setdefault(canonical, [None] * len(records))[index] = cell(value)
    return RawBatch([line for line, _ in records], columns)


def jsonl_batches(source: str, handle: IO[bytes], batch_rows: int) -> Iterator[RawBatch]:
    """One JSON object a line, in batches."""
    records: list[tuple[int, dict[str, Any]]] = []
    for line, text in decoded_lines(source, handle):
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            raise ManifestError(source, line, f"invalid JSON: {error.msg}") from error
        except (ValueError, RecursionError) as error:  # 5,000-digit numbers, deep nesting
            raise ManifestError(source, line, f"JSON that Python refuses: {error}") from error
        if not isinstance(value, dict):
            raise ManifestError(source, line, f"expected a JSON object, got {type(value).__name__}")
        records.append((line, {str(k).lower(): v for k, v in value.items()}))
        if len(records) >= batch_rows:
            yield _dict_batch(records)
            records = []
    if records:
        yield _dict_batch(records)


def text_batches(source: str, handle: IO[bytes], batch_rows: int) -> Iterator[RawBatch]:
    """One URL or path a line; blank lines and ``#`` comments skipped."""
    batch = RawBatch(columns={BARE: []})
    for line, text in decoded_lines(source, handle):
        text = text.strip()
        if text and not text.startswith("#"):
            batch.lines.append(line)
            batch.columns[BARE].append(text)
            if len(batch) >= batch_rows:
                yield batch
                batch = RawBatch(columns={BARE: []})
    if len(batch):
        yield batch


def parquet_batches(source: str, handle: IO[bytes], batch_rows: int) -> Iterator[RawBatch]:
    """Parquet rows, one batch in memory at a time; the line is the row's number."""
    try:
        parquet = pq.ParquetFile(handle, pre_buffer=False)  # one batch in memory, not the file
        names = [name.lower() for name in parquet.schema_arrow.names]
    except Exception as error:  # pyarrow raises several types for a broken file
        raise ManifestError(source, None, f"not a readable Parquet file: {error}") from error
    if not any(name in ALIASES for name in names):
        raise ManifestError(source, None, f"no column url, youtube_id or path in {names}")
    line = 0
    batches = parquet.iter_batches(batch_size=batch_rows)
    while True:
        try:
            batch = next(batches, None)
            columns = (
                {}
                if batch is None
                else {
                    ALIASES[name]: [cell(v) for v in column.to_pylist()]
                    for name, column in zip(names, batch.columns, strict=True)
                    if name in ALIASES
                }
            )
        except Exception as error:  # a broken page, a type Arrow cannot read
            raise ManifestError(source, line + 1, f"unreadable Parquet data: {error}") from error
        if batch is None:
            return
        yield RawBatch(list(range(line + 1, line + 1 + batch.num_rows)), columns)
        line += batch.num_rows
