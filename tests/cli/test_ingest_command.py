"""``acav ingest``: registers manifests, ingests their shards, ends with a JSON summary."""

from __future__ import annotations

import json
import os

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
    runner = CliRunner(env={"COLUMNS": "1000", "TERMINAL_WIDTH": "1000"})
    result = runner.invoke(app, ["ingest", str(manifest), "--home", str(home)])
    assert result.exit_code == 2
    assert "bad.csv, line 2: youtube_id 'not-an-id'" in result.output
    assert not os.path.exists(home / "tables")


def test_ingest_command_rejects_an_unknown_strategy(tmp_path):
    manifest = tmp_path / "m.txt"
    manifest.write_text("http://127.0.0.1:9/x.mp4\n")
    result = CliRunner().invoke(app, ["ingest", str(manifest), "--clip-strategy", "best"])
    assert result.exit_code == 2 and "'best'" in result.output
