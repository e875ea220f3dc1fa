"""Two shard runs at once (as a backfill on several pods would do) leave a consistent
catalog: every row lands once, and the SQL models' tests pass over it."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import dagster as dg

from acav_assets.core.catalog import SqlProject
from acav_assets.core.evaluation import CorpusInfo
from acav_assets.core.media import register_manifest
from acav_assets.defs.catalog.sql_models import SQL_DIR
from acav_assets.defs.resources import AcavHome


def _ingest(home: str, dagster_home: str, media_root: str, shard: str) -> None:
    from acav_assets.definitions import defs

    acav = AcavHome(root=home, media_roots=[media_root])
    config = {"ops": {"ingested_shard": {"config": {"clip_strategy": "middle"}}}}
    dg.materialize(
        list(defs.assets or []) + list(defs.asset_checks or []),
        selection=["videos", "clips"],
        partition_key=shard,
        instance=dg.DagsterInstance.from_config(dagster_home),
        resources={"acav": acav},
        run_config=config,
    )


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
        failed = [o for m in project.order() for o in project.test(con, m.name) if not o.passed]
    assert failed == []
    counts = catalog.query("select shard, count(*) as n from videos group by shard order by shard")
    assert counts.rows() == [(shards[0], 3), (shards[1], 3)]
    clips = catalog.query("select count(*) as n, count(distinct clip_id) as d from clips")
    assert clips.row(0) == (6, 6)
