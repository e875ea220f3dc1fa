"""``acav ingest``: registers manifests, ingests their shards, ends with a JSON summary."""

from __future__ import annotations

import json
import os

from cli_runner import WIDE_RUNNER
from typer.testing import CliRunner

from acav_assets.cli import app
from acav_assets.core.catalog.tables import TableStore
from acav_assets.core.storage import StorageRoot


def test_ingest_command_ingests_a_folder_and_prints_a_summary(tmp_path, media_dir):
    home = tmp_path / "home"
    folder = tmp_path / "videos"
    folder.mkdir()
    for name in ("good.mp4", "good.webm", "zero.mp4", "short.mp4"):
        (folder / name).write_bytes((media_dir / name).read_bytes())
    args = ["ingest", str(folder), "--home", str(home), "--min-duration", "2"]
    result = CliRunner().invoke(app, [*args, "--clip-seconds", "1", "--shard-size", "2"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["total"], summary["ok"], summary["failed"], summary["filtered"]) == (4, 2, 1, 1)
    assert len(summary["shards"]) == 2
    tables = TableStore(StorageRoot(str(home)))
    assert tables.read("videos").height == 4 and tables.read("clips").height >= 2


def test_ingest_command_rejects_a_bad_manifest_and_writes_nothing(tmp_path):
    home = tmp_path / "home"
    manifest = tmp_path / "bad.csv"
    manifest.write_text("youtube_id,start,end\nnot-an-id,1,2\n")
    result = WIDE_RUNNER.invoke(app, ["ingest", str(manifest), "--home", str(home)])
    assert result.exit_code == 2
    assert "bad.csv, line 2: youtube_id 'not-an-id'" in result.output
    assert not os.path.exists(home / "tables")


def test_ingest_command_rejects_an_unknown_strategy(tmp_path):
    manifest = tmp_path / "m.txt"
    manifest.write_text("http://127.0.0.1:9/x.mp4\n")
    result = CliRunner().invoke(app, ["ingest", str(manifest), "--clip-strategy", "best"])
    assert result.exit_code == 2 and "'best'" in result.output


def test_doctor_reports_the_whole_stack_and_exits_zero(tmp_path):
    result = CliRunner().invoke(app, ["doctor", "--home", str(tmp_path / "home")])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["ok"] is True and summary["js_runtime"].startswith("deno ")
    assert summary["challenge_solver"] == "runs in deno"
    assert "ejs_scripts" in result.output and "ffprobe" in result.output


def test_doctor_exits_non_zero_when_youtube_is_degraded_and_hides_the_proxy(tmp_path):
    sites = tmp_path / "sites.yaml"
    sites.write_text(f"youtube:\n  js_runtime_path: {tmp_path / 'no-deno'}\n")
    args = ["doctor", "--home", str(tmp_path), "--sites", str(sites)]
    result = CliRunner().invoke(app, [*args, "--proxy", "http://bob:hunter2@127.0.0.1:3128"])
    assert result.exit_code == 1
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["ok"] is False and summary["js_runtime"].startswith("! none")
    assert summary["proxy"] == "set (http://127.0.0.1:3128)"
    assert "hunter2" not in result.output and "bob" not in result.output


def test_ingest_refuses_an_unknown_site_setting_before_writing_anything(tmp_path):
    home = tmp_path / "home"
    manifest = tmp_path / "m.txt"
    manifest.write_text("http://127.0.0.1:9/x.mp4\n")
    sites = tmp_path / "sites.yaml"
    sites.write_text("youtube:\n  sleep_between: 1\n")
    args = ["ingest", str(manifest), "--home", str(home), "--sites", str(sites)]
    result = WIDE_RUNNER.invoke(app, args)
    assert result.exit_code == 2
    assert "unknown settings ['sleep_between']" in result.output
    assert not os.path.exists(home / "tables")


def test_ingest_says_when_a_site_stopped_being_asked(tmp_path, rate_limited_server):
    base, limit = rate_limited_server
    limit.budget = 0
    manifest = tmp_path / "m.txt"
    manifest.write_text("".join(f"{base}/{n}\n" for n in ("good.mp4", "good.webm", "short.mp4")))
    sites = tmp_path / "sites.yaml"
    sites.write_text("127.0.0.1:\n  trip_after: 1\n")
    args = ["ingest", str(manifest), "--home", str(tmp_path / "home"), "--sites", str(sites)]
    result = CliRunner().invoke(app, [*args, "--concurrent-downloads", "1", "--retries", "0"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["failed"], summary["deferred"]) == (1, 2)
    assert list(summary["breaker_open"].values()) == [["127.0.0.1"]]
    assert "stopped asking 127.0.0.1" in result.output and limit.requests == 1
