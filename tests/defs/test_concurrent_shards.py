"""Two shard runs at once (as a backfill on several pods would do) leave a consistent
catalog: every row lands once, and the SQL models' tests pass over it."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import dagster as dg

from acav_assets.core.catalog import SqlProject
from acav_assets.core.evaluation import CorpusInfo
from acav_assets.core.media import IngestOptions, register_manifest
from acav_assets.defs.catalog.sql_models import SQL_DIR
from acav_assets.defs.resources import AcavHome


def _ingest(home: str, dagster_home: str, media_root: str, shard: str) -> None:
    """One shard's ingest, run by the shard job as the CLI and a backfill pod run it."""
    from acav_assets.definitions import defs
    from acav_assets.defs.local import Curation, LocalRunner, ingest_shards
    from acav_assets.defs.media.assets import ingested_shard

    acav = AcavHome(root=home, media_roots=media_root)
    runner = LocalRunner(defs, acav, dg.DagsterInstance.from_config(dagster_home))
    curation = Curation(sources=(), ingest=IngestOptions(clip_strategy="middle"))
    ingest_shards(runner, curation, [shard], assets=ingested_shard.keys)


def test_two_shard_runs_at_once_leave_a_consistent_catalog(
    tmp_path: Path, small_corpus: CorpusInfo, write_manifest
) -> None:
    home, dagster_home = tmp_path / "home", tmp_path / "home" / "dagster"
    dagster_home.mkdir(parents=True)
    acav = AcavHome(root=str(home))
    videos = sorted(str(p) for p in (small_corpus.root / "videos").glob("*.mp4"))[:6]
    manifest = write_manifest(tmp_path, videos)
    shards = register_manifest(manifest, acav.tables(), shard_size=3)
    assert len(shards) == 2
    dg.DagsterInstance.from_config(str(dagster_home)).add_dynamic_partitions("shards", shards)

    context = multiprocessing.get_context("spawn")
    runs = [
        context.Process(
            target=_ingest, args=(str(home), str(dagster_home), str(small_corpus.root), shard)
        )
        for shard in shards
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join(timeout=300)
        assert run.exitcode == 0

    catalog = acav.catalog()
    project = SqlProject.load(SQL_DIR)
    with catalog.connect(write=True) as con:
        catalog.refresh_views(con)
        project.run(con)
        failed = [o for o in project.test_all(con) if not o.passed]
    assert failed == []
    counts = catalog.query("select shard, count(*) as n from videos group by shard order by shard")
    assert counts.rows() == [(shards[0], 3), (shards[1], 3)]
    clips = catalog.query("select count(*) as n, count(distinct clip_id) as d from clips")
    assert clips.row(0) == (6, 6)
