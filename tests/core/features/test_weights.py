"""Weight files are data, never code: a pickle that names anything but arrays is refused,
plain http is refused, and a pinned sha256 is checked."""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from acav_assets.core.features.weights import fetch_weights, load_pickled_arrays, packaged_file


class _Payload:
    """What an attacker pickles: unpickling it runs a command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _npy_holding(value, path: Path) -> Path:
    holder = np.empty((), dtype=object)
    holder[()] = value
    np.save(path, holder, allow_pickle=True)
    return path


def test_a_pickled_npy_that_names_code_is_refused_and_runs_nothing(tmp_path: Path):
    marker = tmp_path / "pwned"
    path = _npy_holding({"conv1": {"weights": _Payload(marker)}}, tmp_path / "evil.npy")
    with pytest.raises(ValueError, match="refusing posix.system"):
        load_pickled_arrays(str(path))
    assert not marker.exists()


@pytest.mark.parametrize("value", ["a string", {"conv1": {"weights": "x"}}, [1, 2]])
def test_a_pickled_npy_of_anything_but_numeric_arrays_is_refused(tmp_path: Path, value):
    with pytest.raises(ValueError, match="not numeric arrays"):
        load_pickled_arrays(str(_npy_holding(value, tmp_path / "odd.npy")))


def test_arrays_in_dicts_load_as_np_load_gives_them(tmp_path: Path):
    value = {"conv1": {"weights": np.arange(6, dtype=np.float32).reshape(2, 3),
                       "biases": np.ones(3)}}  # fmt: skip
    loaded = load_pickled_arrays(str(_npy_holding(value, tmp_path / "ok.npy")))
    assert loaded["conv1"]["weights"].tolist() == value["conv1"]["weights"].tolist()


def test_the_shipped_soundnet_file_loads_without_running_code():
    path = packaged_file("soundnet", "models/sound8.npy")
    safe = load_pickled_arrays(path)
    trusted = np.load(path, allow_pickle=True, encoding="latin1").item()  # the shipped file only
    assert sorted(safe) == sorted(trusted)
    for layer, params in trusted.items():
        for name, array in params.items():
            np.testing.assert_array_equal(safe[layer][name], array)


def test_plain_http_weights_are_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="plain http are refused"):
        fetch_weights("http://example.com/w.pth", str(tmp_path))


def test_a_pinned_sha256_is_checked(tmp_path: Path):
    path = tmp_path / "w.bin"
    path.write_bytes(b"weights")
    digest = hashlib.sha256(b"weights").hexdigest()
    assert fetch_weights(f"{path}#sha256={digest}") == str(path)
    with pytest.raises(ValueError, match="not the pinned"):
        fetch_weights(f"{path}#sha256={'0' * 64}")
    assert path.exists()  # a local file is the operator's: checked, never deleted


def test_a_pickle_that_is_not_npy_is_refused(tmp_path: Path):
    path = tmp_path / "w.npy"
    path.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ValueError, match="not a NumPy .npy file"):
        load_pickled_arrays(str(path))


def test_a_download_that_does_not_match_its_pin_is_deleted(tmp_path: Path):
    import fsspec

    with fsspec.open("memory://acav-test/w.pth", "wb") as remote:
        remote.write(b"tampered")
    cache = tmp_path / "cache"
    with pytest.raises(ValueError, match="not the pinned"):
        fetch_weights(f"memory://acav-test/w.pth#sha256={'1' * 64}", str(cache))
    assert list(cache.iterdir()) == []
    good = hashlib.sha256(b"tampered").hexdigest()
    assert Path(fetch_weights(f"memory://acav-test/w.pth#sha256={good}", str(cache))).exists()
