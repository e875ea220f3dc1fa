"""``acav embed``: embeds every shard lacking the current extractor versions."""

from __future__ import annotations

import json
import os

import polars as pl
from cli_runner import WIDE_RUNNER

from acav_assets.cli import app
from acav_assets.core.catalog.tables import TableStore
from acav_assets.core.features import EmbeddingStore, clip_windows
from acav_assets.core.storage import StorageRoot


def _ingested(home, media) -> StorageRoot:
    root = StorageRoot(str(home))
    tables = TableStore(root)
    videos = pl.DataFrame(
        {
            "video_id": ["tone", "garbage", "no_audio"],
            "path": [media["tone"], media["garbage"], media["no_audio"]],
            "status": ["ok", "ok", "filtered"],
        }
    )
    clips = pl.DataFrame(
        {
            "clip_id": ["tone-0", "tone-1", "garbage-0", "no_audio-0"],
            "video_id": ["tone", "tone", "garbage", "no_audio"],
            "start_s": [0.0, 1.0, 0.0, 0.0],
            "end_s": [2.0, 3.0, 2.0, 2.0],
        }
    )
    tables.write("videos", "s0", videos)
    tables.write("clips", "s0", clips)
    return root


def _run(*args):
    return WIDE_RUNNER.invoke(app, ["embed", *args, "--num-workers", "0", "--batch-size", "2"])


def test_embed_command_embeds_pending_shards_once(tmp_path, media):
    home = tmp_path / "home"
    root = _ingested(home, media)
    result = _run("--home", str(home))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["shards"] == ["s0"] and summary["clips"] == 6
    assert summary["soundnet8.ok"] == 2 and summary["mobilenet_v2.failed_decode_error"] == 1
    store = EmbeddingStore(root)
    for name, dims in (("soundnet8", 1024), ("mobilenet_v2", 1280)):
        ids, X = store.read(name, 4)
        assert ids == ["tone-0", "tone-1"] and X.shape == (2, dims)
    status = TableStore(root).read("embeddings")
    assert status.height == 6
    assert set(status.filter(pl.col("status") == "failed")["clip_id"]) == {"garbage-0"}

    again = _run("--home", str(home))
    assert json.loads(again.stdout.strip().splitlines()[-1])["shards"] == []

    meta = store.meta("mobilenet_v2", "s0") | {"version": "mobilenet_v2-old"}
    store.write_meta("mobilenet_v2", "s0", meta)
    redo = json.loads(_run("--home", str(home)).stdout.strip().splitlines()[-1])
    assert redo["shards"] == ["s0"] and redo["clips"] == 3 and "soundnet8.ok" not in redo
    assert TableStore(root).read("embeddings").height == 6


def test_embed_command_rejects_a_wrong_modality_and_writes_nothing(tmp_path, media):
    home = tmp_path / "home"
    _ingested(home, media)
    result = _run("--home", str(home), "--audio", "mobilenet_v2")
    assert result.exit_code == 2 and "'mobilenet_v2'" in result.output
    assert not os.path.exists(home / "embeddings")
    result = _run("--home", str(home), "--shard", "nope")
    assert result.exit_code == 1 and "nope" in result.output


def test_clip_windows_read_sections_at_their_offset_and_skip_videos_not_ok(tmp_path, media):
    root = _ingested(tmp_path / "home", media)
    tables = TableStore(root)
    clips = tables.read("clips", ["s0"]).drop("shard")
    section = {"clip_id": "tone-9", "video_id": "tone", "start_s": 100.0, "end_s": 102.5,
               "media_path": media["noise"], "media_start_s": 0.0}  # fmt: skip
    tables.write("clips", "s0", pl.concat([clips, pl.DataFrame([section])], how="diagonal_relaxed"))
    windows = clip_windows(tables, "s0")
    assert windows.rows() == [
        ("garbage-0", media["garbage"], 0.0, 2.0),
        ("tone-0", media["tone"], 0.0, 2.0),
        ("tone-1", media["tone"], 1.0, 3.0),
        ("tone-9", media["noise"], 0.0, 2.5),
    ]
