"""``new_manifest_sensor``: a dropped manifest is registered by a run of its own once it has
stopped changing, then each of its shards is requested exactly once; a malformed one fails
its own registration run, with its reason, and holds back no other; a half-uploaded file
(a temporary name, or still growing) is not registered; an unreadable one is skipped."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from sensor_fixtures import manifest_tick

from acav_assets.core.evaluation import CorpusInfo
from acav_assets.definitions import defs
from acav_assets.defs.resources import AcavHome


def _settled(instance: dg.DagsterInstance, acav: AcavHome, cursor: str | None = None):
    """Two ticks: the first sees the files, the second (nothing changed) registers them."""
    first = manifest_tick(instance, acav, cursor)
    assert not first.run_requests and "stop changing" in first.skip_reason.skip_message
    return manifest_tick(instance, acav, first.cursor)


def _execute(instance: dg.DagsterInstance, acav: AcavHome, request: dg.RunRequest):
    job = defs.resolve_job_def(request.job_name)
    return job.execute_in_process(
        run_config=request.run_config,
        instance=instance,
        resources={"acav": acav},
        raise_on_error=False,
    )


def test_a_new_manifest_is_registered_once_then_each_shard_runs_once(
    tmp_path: Path, small_corpus: CorpusInfo, write_manifest
) -> None:
    acav = AcavHome(root=str(tmp_path / "home"))
    videos = sorted(str(p) for p in (small_corpus.root / "videos").glob("*.mp4"))[:3]
    write_manifest(tmp_path / "home" / "sources", videos)
    with dg.instance_for_test() as instance:
        first = _settled(instance, acav)
        (register,) = first.run_requests
        assert register.job_name == "register_sources"
        assert acav.tables().shards("sources") == []  # the sensor itself registers nothing
        assert _execute(instance, acav, register).success
        (shard,) = instance.get_dynamic_partitions("shards")
        assert acav.tables().read("sources", [shard]).height == 3

        second = manifest_tick(instance, acav, first.cursor)
        (run,) = second.run_requests
        assert (run.job_name, run.partition_key, run.run_key) == (
            "ingest_and_embed_shard",
            shard,
            f"shard:{shard}",
        )
        assert not manifest_tick(instance, acav, second.cursor).run_requests


def test_a_malformed_manifest_fails_its_own_run_and_the_good_one_runs(
    tmp_path: Path, small_corpus: CorpusInfo, write_manifest
) -> None:
    acav = AcavHome(root=str(tmp_path / "home"))
    sources = tmp_path / "home" / "sources"
    sources.mkdir(parents=True)
    (sources / "a_broken.jsonl").write_text('{"path": "x.mp4"}\n{not json\n')
    videos = sorted(str(p) for p in (small_corpus.root / "videos").glob("*.mp4"))[:2]
    write_manifest(sources, videos, name="b_good.csv")
    with dg.instance_for_test() as instance:
        first = _settled(instance, acav)
        broken, good = first.run_requests
        failed = _execute(instance, acav, broken)
        assert not failed.success
        (failure,) = [e for e in failed.all_events if e.is_step_failure]
        message = failure.event_specific_data.error.cause.message
        assert "a_broken.jsonl" in message and "line 2" in message
        assert _execute(instance, acav, good).success
        second = manifest_tick(instance, acav, first.cursor)
        (run,) = second.run_requests
        assert acav.tables().shards("sources") == [run.partition_key]


def test_a_changed_manifest_is_registered_again(
    tmp_path: Path, small_corpus: CorpusInfo, write_manifest
) -> None:
    acav = AcavHome(root=str(tmp_path / "home"))
    videos = sorted(str(p) for p in (small_corpus.root / "videos").glob("*.mp4"))
    write_manifest(tmp_path / "home" / "sources", videos[:2])
    with dg.instance_for_test() as instance:
        first = _settled(instance, acav)
        write_manifest(tmp_path / "home" / "sources", videos[:3])
        (again,) = _settled(instance, acav, first.cursor).run_requests
        assert (
            again.job_name == "register_sources" and again.run_key != first.run_requests[0].run_key
        )


def test_a_half_uploaded_manifest_is_not_registered_until_it_stops_changing(
    tmp_path: Path, small_corpus: CorpusInfo, write_manifest
) -> None:
    acav = AcavHome(root=str(tmp_path / "home"))
    sources = tmp_path / "home" / "sources"
    videos = sorted(str(p) for p in (small_corpus.root / "videos").glob("*.mp4"))
    write_manifest(sources, videos[:1], name="list.csv")
    for temporary in (".list2.csv", "list2.csv.part", "list2.csv.tmp", "list2.csv~"):
        (sources / temporary).write_text("path\n" + videos[1] + "\n")
    with dg.instance_for_test() as instance:
        first = manifest_tick(instance, acav, None)
        assert not first.run_requests
        with (sources / "list.csv").open("a") as growing:  # the upload goes on
            growing.write(videos[1] + "\n")
        second = manifest_tick(instance, acav, first.cursor)
        assert not second.run_requests
        (register,) = manifest_tick(instance, acav, second.cursor).run_requests
        manifests = register.run_config["ops"]["sources"]["config"]["manifests"]
        assert manifests == [str(sources / "list.csv")]


def test_an_unreadable_manifest_is_skipped_and_the_others_register(
    tmp_path: Path, small_corpus: CorpusInfo, write_manifest
) -> None:
    acav = AcavHome(root=str(tmp_path / "home"))
    sources = tmp_path / "home" / "sources"
    videos = sorted(str(p) for p in (small_corpus.root / "videos").glob("*.mp4"))
    write_manifest(sources, videos[:1], name="good.csv")
    (sources / "gone.csv").symlink_to(tmp_path / "nowhere.csv")
    with dg.instance_for_test() as instance:
        (register,) = _settled(instance, acav).run_requests
        manifests = register.run_config["ops"]["sources"]["config"]["manifests"]
        assert manifests == [str(sources / "good.csv")]
