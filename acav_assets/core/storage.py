"""The storage root: one folder or object-store URL that holds every product of a run.

Everything goes through fsspec so that a local folder and an S3-compatible bucket behave the
same; writes land under a temporary name, are flushed to disk and renamed into place, so a
reader never sees a partial file, even after a power cut. A writer killed mid-write leaves
its temporary file; the next writer of that folder removes it once it is old enough not to
be another writer's. The root's own path is never a pattern: a root called ``data[1]`` or
``runs/*`` reads only itself.
"""

from __future__ import annotations

import contextlib
import fcntl
import fnmatch
import logging
import os
import posixpath
import re
import tempfile
import time
import uuid
from collections.abc import Iterator
from typing import IO, Any

import fsspec
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

log = logging.getLogger(__name__)

_KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
_MAGIC = re.compile(r"[*?[]")
TEMP_SUFFIX = ".tmp"
# A temporary file older than this belongs to a writer that died (a write takes seconds).
STALE_TEMP_S = 6 * 3600.0


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
        """The paths under the root that match ``parts``, each a pattern of one level
        (``*``, ``?``, ``[...]``); the root's own path is taken literally."""
        levels = [level for part in parts for level in part.split("/") if level]
        fixed = next((i for i, level in enumerate(levels) if _MAGIC.search(level)), len(levels))
        base = self.path(*levels[:fixed])
        patterns = levels[fixed:]
        if not patterns:
            return [base] if self.fs.exists(base) else []
        if not self.fs.isdir(base):
            return []
        found = self.fs.find(base, maxdepth=len(patterns), withdirs=True)
        matches = []
        for path in found:
            if path.rstrip("/") == base:
                continue
            relative = posixpath.relpath(path, base).split("/")
            if len(relative) == len(patterns) and all(
                fnmatch.fnmatchcase(name, pattern)
                for name, pattern in zip(relative, patterns, strict=True)
            ):
                matches.append(path)
        return sorted(matches)

    @contextlib.contextmanager
    def open_atomic(self, path: str, mode: str = "wb") -> Iterator[IO[Any]]:
        """Write ``path`` through a temporary sibling, flushed to disk and renamed into place
        only on success; old temporary files of dead writers beside it are removed."""
        parent = posixpath.dirname(path)
        self.fs.makedirs(parent, exist_ok=True)
        name = posixpath.basename(path)
        self.remove_stale_temps(parent)
        temp = posixpath.join(parent, f".{name}.{uuid.uuid4().hex}{TEMP_SUFFIX}")
        try:
            if self.is_local:  # the OS's own calls: fsync needs the descriptor
                with open(temp, mode) as handle:
                    yield handle
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(temp, path)
                _fsync_folder(parent)
            else:
                with self.fs.open(temp, mode) as handle:
                    yield handle
                self.fs.mv(temp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm(temp)
            raise

    def remove_stale_temps(self, folder: str, older_than_s: float = STALE_TEMP_S) -> list[str]:
        """Delete the temporary files in ``folder`` that writers killed mid-write left."""
        try:
            entries = self.fs.ls(folder, detail=True)
        except FileNotFoundError:
            return []
        now, removed = time.time(), []
        for entry in entries:
            name = posixpath.basename(entry["name"].rstrip("/"))
            if entry.get("type") != "file" or not (
                name.startswith(".") and name.endswith(TEMP_SUFFIX)
            ):
                continue
            modified = _modified(entry)
            if modified is not None and now - modified > older_than_s:
                with contextlib.suppress(FileNotFoundError):
                    self.fs.rm(entry["name"])
                removed.append(entry["name"])
        if removed:
            log.info("removed %d temporary files of dead writers in %s", len(removed), folder)
        return removed

    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """Hold the lock ``name`` (waiting for another holder) while the block runs.

        A local root takes an ``flock`` on ``locks/<name>.lock``, which the kernel releases
        when its holder dies: processes of one host (or of a shared volume that supports
        locks) never run the block at once. An object store has no such lock: there, the
        orchestrator keeps one run per shard (the run queue's limit on ``dagster/partition``)
        and the block runs unguarded.
        """
        check_key("lock", name)
        if not self.is_local:
            yield
            return
        path = self.path("locks", f"{name}.lock")
        self.fs.makedirs(posixpath.dirname(path), exist_ok=True)
        with open(path, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log.info("waiting for the other holder of lock %s", name)
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def replace_folder(self, staging: str, target: str) -> None:
        """Put the finished folder ``staging`` where ``target`` is, as a whole: nothing of
        the old ``target`` stays (a re-export with fewer tar shards leaves no stale one).

        A local root swaps the folders with two renames (a reader sees the old folder or the
        new one, or for an instant none); an object store moves each new object into place
        and then deletes the old objects the new folder does not have.
        """
        if self.is_local:
            old = None
            if os.path.exists(target):
                old = f"{target}.old-{uuid.uuid4().hex}"
                os.rename(target, old)
            os.rename(staging, target)
            _fsync_folder(posixpath.dirname(target))
            if old is not None:
                self.fs.rm(old, recursive=True)
            return
        before = set(self.fs.find(target)) if self.fs.exists(target) else set()
        moved = set()
        for path in self.fs.find(staging):
            destination = posixpath.join(target, posixpath.relpath(path, staging))
            self.fs.mv(path, destination)
            moved.add(destination)
        for stale in sorted(before - moved):
            self.fs.rm(stale)
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm(staging, recursive=True)

    def staging_folder(self, target: str) -> str:
        """A fresh sibling folder of ``target`` to build its replacement in."""
        parent, name = posixpath.split(target)
        return posixpath.join(parent, f".{name}.{uuid.uuid4().hex}.staging")

    def create_new(self, path: str, data: bytes) -> bool:
        """Write ``path`` only if nothing is there yet, with all of ``data`` at once; ``False``
        when it already exists. Of writers racing for one path exactly one gets ``True``: a
        hard link of a finished temporary file on a local disk, a conditional put
        (``If-None-Match: *``) on an object store, one request (it has no folders to make)."""
        parent = posixpath.dirname(path)
        if not self.is_local:
            try:
                self.fs.pipe_file(path, data, mode="create")
            except FileExistsError:
                return False
            return True
        os.makedirs(parent, exist_ok=True)
        temp = posixpath.join(
            parent, f".{posixpath.basename(path)}.{uuid.uuid4().hex}{TEMP_SUFFIX}"
        )
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temp, path)
        except FileExistsError:
            return False
        finally:
            os.unlink(temp)
        return True

    def write_bytes(self, path: str, data: bytes) -> None:
        with self.open_atomic(path) as handle:
            handle.write(data)

    def read_bytes(self, path: str) -> bytes:
        """All of ``path``: one GET on an object store (opening a file first costs a HEAD)."""
        return self.fs.cat_file(path)

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


def _modified(entry: dict[str, Any]) -> float | None:
    """A listing entry's modification time (s since the epoch), as fsspec backends give it."""
    value = entry.get("mtime") or entry.get("LastModified") or entry.get("last_modified")
    if value is None:
        return None
    return value.timestamp() if hasattr(value, "timestamp") else float(value)


def _fsync_folder(folder: str) -> None:
    """Make a rename in ``folder`` durable (the entry, not only the file's bytes)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
