"""The UI's way in: a running ``dagster dev``, a backfill of the shard assets launched over
GraphQL, polled to success, and its materializations read back."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import dagster as dg
import pytest

from acav_assets.core.catalog import TableStore
from acav_assets.core.evaluation import CorpusInfo
from acav_assets.core.media import register_manifest
from acav_assets.core.storage import StorageRoot
from acav_assets.defs.features.assets import embedded_shard
from acav_assets.defs.media.assets import ingested_shard

REPO = Path(__file__).resolve().parents[2]
SHARD_ASSETS = [k.to_user_string() for k in (*ingested_shard.keys, *embedded_shard.keys)]
LAUNCH = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}"""
STATUS = """
query($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status }
    ... on PythonError { message }
  }
}"""
MATERIALIZATIONS = """
query($path: [String!]!) {
  assetOrError(assetKey: {path: $path}) {
    ... on Asset { assetMaterializations(limit: 20) { partition runId } }
  }
}"""


def _graphql(port: int, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        payload = json.loads(response.read())
    assert "errors" not in payload, payload["errors"]
    return payload["data"]


def _wait_for_location(port: int, process: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, "dagster dev exited"
        try:
            data = _graphql(port, "{ repositoriesOrError { __typename } }")
            if data["repositoriesOrError"]["__typename"] == "RepositoryConnection":
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(1)
    raise TimeoutError("dagster dev did not serve the code location in time")


@pytest.fixture
def dagster_dev(
    tmp_path: Path,
    small_corpus: CorpusInfo,
    monkeypatch: pytest.MonkeyPatch,
    write_manifest,
    free_port: int,
):
    home, dagster_home = tmp_path / "home", tmp_path / "home" / "dagster"
    dagster_home.mkdir(parents=True)
    shutil.copy(REPO / "deployments" / "dagster.yaml", dagster_home / "dagster.yaml")
    videos = sorted(str(p) for p in (small_corpus.root / "videos").glob("*.mp4"))[:4]
    manifest = write_manifest(tmp_path, videos)
    shards = register_manifest(manifest, TableStore(StorageRoot(str(home))), shard_size=2)
    env = {
        **os.environ,
        "ACAV_HOME": str(home),
        "DAGSTER_HOME": str(dagster_home),
        "ACAV_MEDIA_ROOTS": str(small_corpus.root),
    }
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    instance.add_dynamic_partitions("shards", shards)
    port = free_port
    process = subprocess.Popen(
        [Path(sys.executable).parent / "dagster", "dev", "-w", "workspace.yaml",
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        _wait_for_location(port, process)
        yield port, shards
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def test_a_backfill_launched_like_the_ui_succeeds(dagster_dev) -> None:
    port, shards = dagster_dev
    params = {
        "partitionNames": shards,
        "assetSelection": [{"path": [key]} for key in SHARD_ASSETS],
    }
    launched = _graphql(port, LAUNCH, {"params": params})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    deadline = time.monotonic() + 420
    status = "REQUESTED"
    while status in ("REQUESTED", "CANCELING") and time.monotonic() < deadline:
        time.sleep(3)
        backfill = _graphql(port, STATUS, {"id": launched["backfillId"]})
        status = backfill["partitionBackfillOrError"]["status"]
    assert status in ("COMPLETED", "COMPLETED_SUCCESS"), status
    for key in SHARD_ASSETS:
        found = _graphql(port, MATERIALIZATIONS, {"path": [key]})["assetOrError"]
        partitions = {m["partition"] for m in found["assetMaterializations"]}
        assert partitions == set(shards), (key, partitions)
