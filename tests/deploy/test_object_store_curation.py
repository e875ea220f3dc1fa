"""A whole small curation with the storage root in an S3-compatible bucket gives the same
result as on local disk.

moto's server speaks S3 over HTTP on 127.0.0.1; the pipeline reaches it through s3fs with the
endpoint and credentials of ``AcavHome``, as a pod reaches MinIO or AWS. Half the source
videos are local files read in place (the export names their path), half are URLs served over
HTTP on 127.0.0.1 and downloaded (into the bucket, in the second run); the export includes
WebDataset tars, so clip files are cut from media that lives in the bucket.
"""

from __future__ import annotations

import functools
import http.server
import io
import json
import os
import tarfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest
from sensor_fixtures import manifest_tick

from acav_assets.core.catalog import TableStore
from acav_assets.core.clustering import ClusteringOptions, ClusteringSet
from acav_assets.core.evaluation import CorpusInfo, generate_corpus
from acav_assets.core.export import ExportOptions
from acav_assets.core.media import (
    IngestOptions,
    ManifestError,
    ingest_shard,
    load_manifest,
    probe_video,
)
from acav_assets.core.media.sources import shard_prefix
from acav_assets.core.selection import SelectionOptions
from acav_assets.core.selection.pairing import is_primary
from acav_assets.core.storage import TEMP_SUFFIX
from acav_assets.definitions import defs
from acav_assets.defs.local import Curation, LocalRunner, curate_sources, local_instance, summarize
from acav_assets.defs.resources import AcavHome

pytestmark = pytest.mark.slow_io

EXPORTED = ["rank", "clip_id", "video_id", "url", "start_s", "end_s", "contribution"]
SIZE = 6


@dataclass
class Curated:
    """One finished curation: where it ran, what it returned, where its export was copied."""

    acav: AcavHome
    summary: dict
    out: Path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> CorpusInfo:
    """8 videos of 31-34 s (past ACAV's 30 s filter) in 2 classes, half with swapped sound."""
    return generate_corpus(
        tmp_path_factory.mktemp("corpus"),
        n_videos=8,
        n_classes=2,
        min_seconds=31,
        max_seconds=34,
        width=160,
        height=96,
        fps=8,
        seed=5,
    )


@pytest.fixture(scope="module")
def manifest(corpus: CorpusInfo) -> Iterator[Path]:
    """A text manifest: the first 4 videos by local path, the other 4 by HTTP URL."""
    handler = functools.partial(_QuietHandler, directory=str(corpus.root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    videos = sorted((corpus.root / "videos").glob("*.mp4"))
    lines = [str(p) for p in videos[:4]]
    lines += [f"{base}/{p.relative_to(corpus.root).as_posix()}" for p in videos[4:]]
    path = corpus.root / "mixed.txt"
    path.write_text("\n".join(lines) + "\n")
    try:
        yield path
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module", autouse=True)
def aws_credentials() -> Iterator[None]:
    """Credentials as a pod gets them: the standard variables, read by s3fs itself."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", "acav-test-key")
        env.setenv("AWS_SECRET_ACCESS_KEY", "acav-test-secret")
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        yield


def _curate(acav: AcavHome, corpus: CorpusInfo, manifest: Path, out: Path) -> Curated:
    curation = Curation(
        sources=(str(manifest),),
        ingest=IngestOptions(allowed_roots=(str(corpus.root),)),
        # 8 videos give ~24 clips for k = 4: a cluster holding half of one layer is the
        # corpus being tiny, not a defect, and this test compares storage roots.
        clustering=ClusteringOptions(k="4", seed=7, max_cluster_share=0.75),
        selection=SelectionOptions(size=SIZE, seed=7),
        export=ExportOptions(webdataset=True),
        report_to=str(out / "report.html"),
    )
    loaded = load_manifest(manifest)
    runner = LocalRunner(defs, acav, local_instance(acav, os.environ.get("DAGSTER_HOME")))
    shards = curate_sources(runner, curation, [shard_prefix(loaded.source, loaded.sha256)])
    return Curated(acav, summarize(runner, curation, shards, str(out)), out)


@pytest.fixture(scope="module")
def on_disk(
    tmp_path_factory: pytest.TempPathFactory, corpus: CorpusInfo, manifest: Path
) -> Curated:
    folder = tmp_path_factory.mktemp("disk")
    acav = AcavHome(root=str(folder / "home"), media_roots=str(corpus.root))
    return _curate(acav, corpus, manifest, folder / "out")


def _bucket_home(endpoint: str, state: Path, corpus: CorpusInfo) -> AcavHome:
    """A root at ``s3://<fresh bucket>/acav``; the catalog file stays under ``state``."""
    bucket = f"acav-{uuid.uuid4().hex[:12]}"
    acav = AcavHome(
        root=f"s3://{bucket}/acav",
        catalog_path=str(state / "catalog.duckdb"),
        media_roots=str(corpus.root),
        s3_endpoint_url=endpoint,
    )
    acav.storage().fs.mkdir(bucket)
    return acav


@pytest.fixture(scope="module")
def in_bucket(
    tmp_path_factory: pytest.TempPathFactory,
    corpus: CorpusInfo,
    manifest: Path,
    s3_endpoint: str,
) -> Iterator[Curated]:
    """The same curation with the root at ``s3://<fresh bucket>/acav``; only the DuckDB file
    and Dagster's SQLite instance stay on local disk (neither can live in a bucket)."""
    folder = tmp_path_factory.mktemp("bucket")
    acav = _bucket_home(s3_endpoint, folder / "state", corpus)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DAGSTER_HOME", str(folder / "state" / "dagster"))
        yield _curate(acav, corpus, manifest, folder / "out")


def test_bucket_curation_exports_the_same_rows_as_local_disk(
    on_disk: Curated, in_bucket: Curated, corpus: CorpusInfo
):
    local = pl.read_csv(on_disk.out / "subset.csv")
    remote = pl.read_csv(in_bucket.out / "subset.csv")
    assert local.columns == EXPORTED and remote.columns == EXPORTED
    assert local.height == SIZE
    assert remote.equals(local)
    assert pl.read_parquet(in_bucket.out / "subset.parquet").equals(
        pl.read_parquet(on_disk.out / "subset.parquet")
    )
    urls = remote["url"].to_list()
    assert all(u.startswith((str(corpus.root), "http://127.0.0.1:")) for u in urls)


def test_bucket_curation_reaches_the_same_objective_and_clusterings(
    on_disk: Curated, in_bucket: Curated
):
    for key in ("videos", "videos_ok", "clips", "selected", "shards"):
        assert in_bucket.summary[key] == on_disk.summary[key], key
    assert in_bucket.summary["videos_ok"] == 8 and in_bucket.summary["selected"] == SIZE
    assert in_bucket.summary["objective"] == pytest.approx(on_disk.summary["objective"], abs=1e-9)
    local = ClusteringSet.load(on_disk.acav.storage())
    remote = ClusteringSet.load(in_bucket.acav.storage())
    assert remote.version == local.version
    assert remote.ks == local.ks
    primary = {k for c, k in zip(remote.columns, remote.ks, strict=True) if is_primary(c)}
    assert primary == {4} and set(remote.ks) == {2, 4, 8}  # the ensemble: k/2, k, 2k
    assert remote.columns == local.columns


def test_bucket_holds_every_product_and_no_temporary_object(on_disk: Curated, in_bucket: Curated):
    root = in_bucket.acav.storage()
    keys = [k[len(root.base) + 1 :] for k in root.fs.find(root.base)]
    folders = {k.split("/")[0] for k in keys}
    assert {"tables", "embeddings", "clusterings", "selections", "exports"} <= folders
    shard = in_bucket.summary["shards"][0]
    for table in ("sources", "videos", "clips", "cluster_assignments", "curated_subset"):
        assert any(k.startswith(f"tables/{table}/shard=") for k in keys), table
    assert any(k.startswith("embeddings/") and f"shard={shard}" in k for k in keys)
    assert {"exports/default/subset.csv", "exports/default/subset.parquet"} <= set(keys)
    assert "reports/report.html" in keys
    assert not [k for k in keys if k.endswith(TEMP_SUFFIX)]
    assert not [k for k in keys if k.endswith(".duckdb") or k.endswith(".db")]
    assert TableStore(root).tables() == on_disk.acav.tables().tables()


def test_catalog_reads_bucket_tables_in_place(on_disk: Curated, in_bucket: Curated):
    catalog = in_bucket.acav.catalog()
    assert Path(catalog.path).is_file()
    counts = catalog.query(
        "select (select count(*) from videos) as videos, (select count(*) from clips) as clips"
    )
    assert counts.to_dicts() == [
        {"videos": in_bucket.summary["videos"], "clips": in_bucket.summary["clips"]}
    ]
    query = "select rank, clip_id, video_id from lineage order by rank"
    assert catalog.query(query).equals(on_disk.acav.catalog().query(query))


def test_bucket_run_keeps_dagster_history_under_dagster_home(in_bucket: Curated):
    """SQLite cannot live in a bucket: the run history goes to ``$DAGSTER_HOME``."""
    home = in_bucket.out.parent / "state" / "dagster"
    assert list(home.rglob("*.db"))
    with dg.DagsterInstance.from_config(str(home)) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey("curated_subset"))
        metadata = event.asset_materialization.metadata
        assert metadata["objective"].value == in_bucket.summary["objective"]


def test_downloaded_videos_are_kept_in_the_bucket(in_bucket: Curated):
    root = in_bucket.acav.storage()
    videos = TableStore(root).read("videos")
    downloaded = videos.filter(pl.col("url").is_not_null())
    assert downloaded.height == 4 and (downloaded["status"] == "ok").all()
    assert all(p.startswith(root.uri("media") + "/") for p in downloaded["path"])
    assert all(root.fs.exists(p) for p in downloaded["path"])
    clips = TableStore(root).read("clips").join(downloaded.select("video_id"), on="video_id")
    assert clips.height > 0 and all(p.startswith("s3://") for p in clips["media_path"])


def _webdataset(acav: AcavHome) -> dict[str, bytes]:
    root = acav.storage()
    (tar_path,) = root.glob("exports", "default", "webdataset", "*.tar")
    with root.fs.open(tar_path, "rb") as handle, tarfile.open(fileobj=handle) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def test_bucket_webdataset_holds_the_same_clips_and_embeddings(
    on_disk: Curated, in_bucket: Curated, tmp_path: Path
):
    local, remote = _webdataset(on_disk.acav), _webdataset(in_bucket.acav)
    assert sorted(remote) == sorted(local)
    exported = pl.read_csv(in_bucket.out / "subset.csv")
    assert {n.rsplit(".mp4", 1)[0] for n in remote if n.endswith(".mp4")} == set(
        exported["clip_id"]
    )
    assert exported["url"].str.starts_with("http://").any(), "no downloaded clip was exported"
    for name, data in remote.items():
        if name.endswith(".json"):
            assert json.loads(data) == json.loads(local[name])
        elif name.endswith(".npz"):
            ours, theirs = np.load(io.BytesIO(data)), np.load(io.BytesIO(local[name]))
            assert sorted(ours) == sorted(theirs)
            assert all(np.array_equal(ours[k], theirs[k]) for k in ours)
        else:
            clip = tmp_path / name.replace(":", "_")
            clip.write_bytes(data)
            assert probe_video(clip).duration_s == pytest.approx(10.0, abs=0.3)


def test_bucket_report_shows_every_preview_the_local_one_does(on_disk: Curated, in_bucket: Curated):
    """The report's top and bottom clips have a frame and sound wherever their media lives."""
    pages = {}
    for run in (on_disk, in_bucket):
        root = run.acav.storage()
        stored = root.read_bytes(root.path("reports", "report.html")).decode()
        assert (run.out / "report.html").read_text() == stored
        pages[run is in_bucket] = stored
    frames = [page.count('src="data:image/jpeg;base64,') for page in pages.values()]
    assert frames[0] == frames[1] > 0
    assert pages[True].count("no frame") == pages[False].count("no frame") == 0
    assert pages[True].count("no sound") == pages[False].count("no sound") == 0


def test_manifest_dropped_into_the_bucket_becomes_shards_and_runs(
    s3_endpoint: str, corpus: CorpusInfo, tmp_path: Path
):
    """``new_manifest_sensor`` reads ``<root>/sources/`` in the bucket, as on a cluster."""
    acav = _bucket_home(s3_endpoint, tmp_path, corpus)
    root = acav.storage()
    videos = sorted(str(p) for p in (corpus.root / "videos").glob("*.mp4"))[:3]
    root.write_bytes(root.path("sources", "a_relative.txt"), b"videos/x.mp4\n")
    root.write_bytes(root.path("sources", "b_good.csv"), ("path\n" + "\n".join(videos)).encode())
    with dg.instance_for_test() as instance:
        # the first tick sees the files; the next (nothing changed) registers them
        seen = manifest_tick(instance, acav, None)
        first = manifest_tick(instance, acav, seen.cursor)
        relative, good = first.run_requests
        results = [
            defs.resolve_job_def(r.job_name).execute_in_process(
                run_config=r.run_config, instance=instance, resources={"acav": acav},
                raise_on_error=False,
            )
            for r in (relative, good)
        ]  # fmt: skip
        assert [r.success for r in results] == [False, True]
        (run,) = manifest_tick(instance, acav, first.cursor).run_requests
    sources = acav.tables().read("sources", [run.partition_key])
    assert sorted(sources["path"]) == videos
    assert sources["source"].unique().to_list() == [root.uri("sources", "b_good.csv")]
    assert run.partition_key.startswith("b_good-")
    assert acav.tables().shards("sources") == [run.partition_key]
    with pytest.raises(ManifestError, match="line 1: path 'videos/x.mp4' is relative"):
        load_manifest(root.uri("sources", "a_relative.txt"), root)
    with pytest.raises(ManifestError, match="read only through a remote root"):
        load_manifest(root.uri("sources", "b_good.csv"))


def test_reingesting_a_bucket_shard_reuses_its_downloads(in_bucket: Curated, corpus: CorpusInfo):
    """It rewrites the shard's videos and clips, with the same content: later tests may read
    them."""
    root, tables = in_bucket.acav.storage(), in_bucket.acav.tables()
    (shard,) = in_bucket.summary["shards"]
    media_before = root.glob("media", shard, "*")
    columns = ["video_id", "status", "path", "sha256", "duration_s"]
    videos_before = tables.read("videos").select(columns).sort("video_id")
    clips_before = tables.read("clips").drop("run_id").sort("clip_id")

    stats = ingest_shard(
        root,
        tables,
        shard,
        IngestOptions(allowed_roots=(str(corpus.root),)),
        run_id="again",
        code_version="again",
    )
    assert (stats.downloaded, stats.reused, stats.ok) == (0, 4, 8)  # the 4 URLs
    assert root.glob("media", shard, "*") == media_before
    assert tables.read("videos").select(columns).sort("video_id").equals(videos_before)
    assert tables.read("clips").drop("run_id").sort("clip_id").equals(clips_before)


def test_sql_model_step_on_a_fresh_pod_builds_its_refs_from_the_bucket(
    on_disk: Curated, in_bucket: Curated, tmp_path: Path
):
    """On a cluster every step is a pod with its own (empty) catalog file, since DuckDB's
    file cannot live in the bucket: the ``lineage`` step must create the models it refers to."""
    fields = {**in_bucket.acav.model_dump(), "catalog_path": str(tmp_path / "pod.duckdb")}
    pod = AcavHome(**fields)
    job = defs.resolve_job_def("publish_curated_set")
    result = job.get_subset(asset_selection={dg.AssetKey("lineage")}).execute_in_process(
        resources={"acav": pod}, instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    query = "select rank, clip_id, video_id, source from lineage order by rank"
    assert pod.catalog().query(query).equals(on_disk.acav.catalog().query(query))
