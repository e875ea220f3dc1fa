"""The ingest asset: its per-site settings, the download-stack facts in its metadata, and
the warnings a run log gets when a site stops being asked."""

from __future__ import annotations

import http.server
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from acav_assets.core.media import register_manifest
from acav_assets.defs.media.assets import ingested_shard
from acav_assets.defs.media.schedules import retry_deferred_schedule
from acav_assets.defs.resources import AcavHome


class _TooManyRequests(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(429)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def refusing_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _TooManyRequests)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _shard(tmp_path: Path, acav: AcavHome, instance: dg.DagsterInstance, urls: list[str]) -> str:
    manifest = tmp_path / "m.txt"
    manifest.write_text("".join(f"{url}\n" for url in urls))
    (shard,) = register_manifest(manifest, acav.tables())
    instance.add_dynamic_partitions("shards", [shard])
    return shard


def _ingest(acav: AcavHome, instance: dg.DagsterInstance, shard: str, config: dict, **kw):
    return dg.materialize(
        [ingested_shard],
        partition_key=shard,
        instance=instance,
        resources={"acav": acav},
        run_config={"ops": {"ingested_shard": {"config": config}}},
        **kw,
    )


@pytest.mark.slow_io
def test_ingest_asset_records_the_stack_and_says_when_it_stopped_asking_a_site(
    tmp_path, refusing_server
):
    acav = AcavHome(root=str(tmp_path / "home"))
    with dg.instance_for_test() as instance:
        _check_breaker_run(tmp_path, acav, instance, refusing_server)


def _check_breaker_run(tmp_path, acav, instance, refusing_server) -> None:
    shard = _shard(tmp_path, acav, instance, [f"{refusing_server}/{i}.mp4" for i in range(3)])
    config = {
        "concurrent_downloads": 1,
        "download": {
            "retries": 0,
            "sites": {"127.0.0.1": {"trip_after": 1, "sleep_requests": 0}},
        },
    }

    result = _ingest(acav, instance, shard, config)

    assert result.success
    videos = result.asset_materializations_for_node("ingested_shard")[0].metadata
    assert videos["download_stack_ok"].value is True
    assert "challenge_solver" in videos["download_stack"].value
    assert (videos["deferred"].value, videos["breaker_open"].value) == (2, "127.0.0.1")
    assert (videos["failed"].value, videos["total"].value) == (1, 3)
    warnings = [
        entry.user_message
        for entry in instance.all_logs(result.run_id)
        if entry.level == 30  # logging.WARNING
    ]
    assert any("stopped asking 127.0.0.1" in w and "2 videos deferred" in w for w in warnings)
    statuses = acav.tables().read("videos")["status"].to_list()
    assert sorted(statuses) == ["deferred", "deferred", "failed"]
    assert videos["retry_soon"].value == 3  # two deferred and one rate-limited

    # the retry schedule asks again once the site had an hour to cool down, once per run
    def evaluate(after: timedelta):
        when = datetime.now(UTC) + after
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=when)
        return retry_deferred_schedule(context)

    assert isinstance(evaluate(timedelta(minutes=10)), dg.SkipReason)
    (request,) = evaluate(timedelta(hours=2))
    assert request.partition_key == shard and request.run_key.startswith(f"retry:{shard}:")


def test_ingest_asset_fails_at_start_on_an_unknown_site_setting(tmp_path):
    acav = AcavHome(root=str(tmp_path / "home"))
    instance = dg.DagsterInstance.ephemeral()
    shard = _shard(tmp_path, acav, instance, ["http://127.0.0.1:9/a.mp4"])

    result = _ingest(
        acav,
        instance,
        shard,
        {"download": {"sites": {"youtube": {"bogus": 1}}}},
        raise_on_error=False,
    )

    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "unknown settings ['bogus']" in str(failure.step_failure_data.error)
    assert acav.tables().read("videos").height == 0


def test_a_shard_of_local_files_does_not_check_the_download_stack(
    tmp_path, small_corpus, write_manifest
):
    acav = AcavHome(root=str(tmp_path / "home"), media_roots=str(small_corpus.root))
    instance = dg.DagsterInstance.ephemeral()
    videos = sorted(str(p) for p in (small_corpus.root / "videos").glob("*.mp4"))[:2]
    (shard,) = register_manifest(write_manifest(tmp_path, videos), acav.tables())
    instance.add_dynamic_partitions("shards", [shard])

    result = _ingest(acav, instance, shard, {"clip_strategy": "middle"})

    metadata = result.asset_materializations_for_node("ingested_shard")[0].metadata
    assert metadata["download_stack"].value == "not checked: the shard downloads nothing"
    assert "download_stack_ok" not in metadata and metadata["ok"].value == 2
