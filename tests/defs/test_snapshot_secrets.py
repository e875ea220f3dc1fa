"""No secret of the environment reaches the repository snapshot that Dagster's UI and GraphQL
serve: the code location is loaded with every variable acav or s3fs reads set to a marker,
its snapshot built and serialized the way the webserver gets it, and no marker is in it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
from dagster._core.remote_representation.external_data import RepositorySnap
from dagster._serdes import serialize_value

from acav_assets.defs.resources import ENVIRONMENT, AcavHome

REPO = Path(__file__).resolve().parents[2]
MARKERS = {
    "AWS_ACCESS_KEY_ID": "AKIAMARKERKEYID0001",
    "AWS_SECRET_ACCESS_KEY": "marker-secret-access-key-0002",
    "AWS_SESSION_TOKEN": "marker-session-token-0003",
    "ACAV_PROXY_URL": "http://proxyuser:marker-proxy-pass-0004@proxy.internal:3128",
    "ACAV_S3_ENDPOINT_URL": "http://marker-endpoint-0005.internal:9000",
    "ACAV_HOME": "s3://marker-bucket-0006/acav",
    "ACAV_YTDLP_COOKIES": "/secrets/marker-cookies-0007.txt",
    "ACAV_MEDIA_ROOTS": "/mnt/marker-media-0008",
    "ACAV_CATALOG_PATH": "/var/marker-catalog-0009.duckdb",
    "HTTPS_PROXY": "http://u:marker-https-proxy-0010@egress:3128",
}
SNAPSHOT = """
from dagster._core.remote_representation.external_data import RepositorySnap
from dagster._serdes import serialize_value
from acav_assets.definitions import defs
print(serialize_value(RepositorySnap.from_def(defs.get_repository_def())))
"""


def _snapshot(environment: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if k not in MARKERS} | environment
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [sys.executable, "-c", SNAPSHOT], capture_output=True, text=True, env=env, timeout=300,
        cwd=REPO, check=True,
    )  # fmt: skip
    return done.stdout


def test_repository_snapshot_holds_no_secret_of_the_environment():
    text = _snapshot(MARKERS | {"ACAV_REFUSE_PRIVATE_ADDRESSES": "true"})  # not a secret
    leaked = {name: value for name, value in MARKERS.items() if value in text}
    assert leaked == {}
    parts = ["marker-secret", "marker-proxy-pass", "marker-session", "AKIAMARKER"]
    assert not any(part in text for part in parts)
    # what the UI may show instead: the names of the variables the resource reads
    assert all(name in text for name in ENVIRONMENT.values())


def test_a_plain_value_in_a_resource_would_show_in_the_snapshot():
    """The test above can fail: a value given to the resource itself is in the snapshot."""
    leaky = AcavHome(proxy_url=MARKERS["ACAV_PROXY_URL"])
    defs = dg.Definitions(assets=[dg.AssetSpec("a")], resources={"acav": leaky})
    text = serialize_value(RepositorySnap.from_def(defs.get_repository_def()))
    assert "marker-proxy-pass-0004" in text
