"""The storage root, table store and catalog on a real S3-compatible server.

moto's server mode speaks the S3 protocol over HTTP on 127.0.0.1; the code under test talks to
it through s3fs exactly as it would talk to MinIO or AWS, with credentials and endpoint in
``storage_options`` (never in the environment).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from acav_assets.core.catalog import Catalog, TableStore, default_catalog_path
from acav_assets.core.storage import TEMP_SUFFIX, StorageRoot

pytestmark = pytest.mark.slow_io


def _clips(n: int, offset: float = 0.0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "clip_id": [f"v{i}:{offset + i:.1f}" for i in range(n)],
            "video_id": [f"v{i}" for i in range(n)],
            "start_s": [offset + i for i in range(n)],
            "end_s": [offset + i + 10.0 for i in range(n)],
            "strategy": ["middle"] * n,
            "run_id": ["r1"] * n,
        }
    )


def _keys(root: StorageRoot) -> list[str]:
    return sorted(root.fs.find(root.base))


def test_s3_root_is_remote_and_builds_s3_uris(s3_root: StorageRoot):
    assert not s3_root.is_local
    assert s3_root.protocol == "s3"
    assert s3_root.uri("tables", "clips").startswith("s3://acav-")
    assert s3_root.uri("tables", "clips").endswith("/curation/tables/clips")


def test_s3_atomic_write_leaves_only_the_final_object(s3_root: StorageRoot):
    path = s3_root.path("media", "s1", "a.bin")
    s3_root.write_bytes(path, b"first")
    s3_root.write_bytes(path, b"second")

    assert s3_root.read_bytes(path) == b"second"
    assert _keys(s3_root) == [path]


def test_s3_failed_atomic_write_leaves_nothing_behind(s3_root: StorageRoot):
    path = s3_root.path("media", "s1", "b.bin")
    s3_root.write_bytes(path, b"kept")

    with pytest.raises(RuntimeError, match="writer died"):
        with s3_root.open_atomic(path) as handle:
            handle.write(b"partial" * 1000)
            raise RuntimeError("writer died")

    assert s3_root.read_bytes(path) == b"kept"
    assert not [k for k in _keys(s3_root) if k.endswith(TEMP_SUFFIX)]
    assert _keys(s3_root) == [path]


def test_s3_table_rewrite_replaces_shard_without_duplicates(s3_root: StorageRoot):
    store = TableStore(s3_root)
    store.write("clips", "s1", _clips(3))
    store.write("clips", "s2", _clips(2, offset=100.0))
    store.write("clips", "s1", _clips(4, offset=50.0))

    assert store.tables() == ["clips"]
    assert store.shards("clips") == ["s1", "s2"]
    table = store.read("clips").sort("clip_id")
    assert table.height == 6
    assert table.filter(pl.col("shard") == "s1")["start_s"].to_list() == [50.0, 51.0, 52.0, 53.0]
    assert store.read("clips", shards=["s2"])["clip_id"].to_list() == ["v0:100.0", "v1:101.0"]
    assert not [k for k in _keys(s3_root) if k.endswith(TEMP_SUFFIX)]


def test_s3_tables_read_back_equal_to_local_ones(s3_root: StorageRoot, storage: StorageRoot):
    for root in (s3_root, storage):
        store = TableStore(root)
        store.write("clips", "s1", _clips(5))
        store.write("clips", "s2", _clips(3, offset=7.5))
    remote = TableStore(s3_root).read("clips").sort("clip_id", "shard")
    local = TableStore(storage).read("clips").sort("clip_id", "shard")
    assert remote.equals(local)


def test_s3_catalog_queries_tables_in_place_through_duckdb(s3_root: StorageRoot, tmp_path):
    store = TableStore(s3_root)
    store.write("clips", "s1", _clips(3))
    store.write("clips", "s2", _clips(2, offset=100.0))
    catalog = Catalog(s3_root, default_catalog_path(s3_root, str(tmp_path / "cache")))

    assert "clips" in catalog.refresh()
    counts = catalog.query(
        "SELECT shard, count(*) AS n, sum(end_s - start_s) AS seconds FROM clips "
        "WHERE start_s >= $min GROUP BY shard ORDER BY shard",
        {"min": 0.0},
    )
    assert counts.to_dicts() == [
        {"shard": "s1", "n": 3, "seconds": 30.0},
        {"shard": "s2", "n": 2, "seconds": 20.0},
    ]
    # The database file stays local; nothing but Parquet lands in the bucket.
    assert str(tmp_path) in catalog.path
    assert all(k.endswith(".parquet") for k in _keys(s3_root))


def test_s3_catalog_sees_a_rewritten_shard_after_refresh(s3_root: StorageRoot, tmp_path):
    store = TableStore(s3_root)
    catalog = Catalog(s3_root, default_catalog_path(s3_root, str(tmp_path / "cache")))
    store.write("clips", "s1", _clips(3))
    catalog.refresh()
    store.write("clips", "s1", _clips(1, offset=9.0))
    store.write("clips", "s3", _clips(2))
    catalog.refresh()

    rows = catalog.query("SELECT shard, start_s FROM clips ORDER BY shard, start_s")
    assert rows.to_dicts() == [
        {"shard": "s1", "start_s": 9.0},
        {"shard": "s3", "start_s": 0.0},
        {"shard": "s3", "start_s": 1.0},
    ]


def test_s3_catalog_exposes_empty_typed_view_before_first_shard(s3_root: StorageRoot, tmp_path):
    catalog = Catalog(s3_root, default_catalog_path(s3_root, str(tmp_path / "cache")))
    catalog.refresh()
    empty = catalog.query("SELECT * FROM videos")
    assert empty.height == 0
    assert "video_id" in empty.columns and "shard" in empty.columns


def test_s3_root_takes_endpoint_and_credentials_from_standard_aws_env(
    s3_endpoint: str, s3_root: StorageRoot, monkeypatch: pytest.MonkeyPatch
):
    """The cluster sets only AWS_* variables (k8s/storage/object-store.yaml); s3fs reads them."""
    s3_root.write_bytes(s3_root.path("probe.txt"), b"written with storage_options")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "acav-env-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "acav-env-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    from_env = StorageRoot(s3_root.url, storage_options={"skip_instance_cache": True})
    assert from_env.read_bytes(from_env.path("probe.txt")) == b"written with storage_options"


def test_media_is_the_file_itself_or_a_scratch_copy_removed_after(
    storage: StorageRoot, tmp_path: Path, s3_endpoint: str
) -> None:
    video = str(tmp_path / "v.mp4")
    Path(video).write_bytes(b"not decoded here")
    with storage.local_file(video) as path:
        assert path == video
    with storage.local_file(f"file://{video}") as path:
        assert path == video
    options = {"key": "k", "secret": "s", "client_kwargs": {"endpoint_url": s3_endpoint,
               "region_name": "eu-west-1"}}  # fmt: skip
    bucket = StorageRoot("s3://local-media-test/acav", options)
    bucket.fs.mkdir("local-media-test", region_name="eu-west-1")
    remote = "s3://local-media-test/acav/media/v.mp4"
    bucket.fs.put(video, remote)
    with bucket.local_file(remote) as path:
        assert Path(path).read_bytes() == Path(video).read_bytes()
    assert not Path(path).exists()
