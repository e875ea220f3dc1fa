"""The storage root: one folder or object-store URL that holds every product of a run.

Everything goes through fsspec so that a local folder and an S3-compatible bucket behave the
same; writes land under a temporary name and are renamed into place, so a reader never sees
a partial file.
"""

from __future__ import annotations

import contextlib
import posixpath
import re
import tempfile
import uuid
from collections.abc import Iterator
from typing import IO, Any

import fsspec
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

_KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
TEMP_SUFFIX = ".tmp"


def check_key(kind: str, key: str) -> str:
    """Reject names that could escape their folder or break hive partitioning."""
    if not isinstance(key, str) or not _KEY_PATTERN.match(key):
        raise ValueError(
            f"invalid {kind} {key!r}: use letters, digits, '_', '.', '-' (at most 128), "
            "starting with a letter or digit"
        )
    return key


class StorageRoot:
    """A storage root such as ``./.acav`` or ``s3://bucket/acav``.

    ``storage_options`` go to fsspec unchanged (for S3: ``key``, ``secret``,
    ``client_kwargs={"endpoint_url": ...}``).
    """

    def __init__(self, url: str, storage_options: dict[str, Any] | None = None) -> None:
        self.url = url.rstrip("/") or url
        self.storage_options = dict(storage_options or {})
        self.fs: fsspec.AbstractFileSystem
        self.fs, base = url_to_fs(self.url, **self.storage_options)
        self.base = base.rstrip("/")
        if self.is_local:
            self.fs.makedirs(self.base, exist_ok=True)

    @property
    def is_local(self) -> bool:
        return isinstance(self.fs, LocalFileSystem)

    @property
    def protocol(self) -> str:
        protocol = self.fs.protocol
        return protocol[0] if isinstance(protocol, tuple | list) else protocol

    def path(self, *parts: str) -> str:
        """A path inside the root, in the filesystem's own form (no protocol)."""
        return posixpath.join(self.base, *parts)

    def uri(self, *parts: str) -> str:
        """A full URL of a path inside the root, for DuckDB, polars and pyarrow."""
        path = self.path(*parts)
        return path if self.is_local else f"{self.protocol}://{path}"

    def exists(self, *parts: str) -> bool:
        return self.fs.exists(self.path(*parts))

    def glob(self, *parts: str) -> list[str]:
        return sorted(self.fs.glob(self.path(*parts)))

    @contextlib.contextmanager
    def open_atomic(self, path: str, mode: str = "wb") -> Iterator[IO[Any]]:
        """Write ``path`` through a temporary sibling, renamed into place only on success."""
        parent = posixpath.dirname(path)
        self.fs.makedirs(parent, exist_ok=True)
        name = posixpath.basename(path)
        temp = posixpath.join(parent, f".{name}.{uuid.uuid4().hex}{TEMP_SUFFIX}")
        try:
            with self.fs.open(temp, mode) as handle:
                yield handle
            self.fs.mv(temp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm(temp)
            raise

    def write_bytes(self, path: str, data: bytes) -> None:
        with self.open_atomic(path) as handle:
            handle.write(data)

    def read_bytes(self, path: str) -> bytes:
        with self.fs.open(path, "rb") as handle:
            return handle.read()

    @contextlib.contextmanager
    def local_file(self, uri: str) -> Iterator[str]:
        """A path ffmpeg and torchcodec can open: the file itself when it is local, else a
        scratch copy removed on exit (neither reads s3:// URLs)."""
        source = uri.removeprefix("file://")
        if "://" not in source:
            yield source
            return
        with tempfile.TemporaryDirectory(prefix="acav-media-") as scratch:
            local = posixpath.join(scratch, posixpath.basename(source))
            self.fs.get(uri, local)
            yield local
