"""A throwaway PostgreSQL (Debian's ``postgresql`` package) on 127.0.0.1, for the tests and
the benchmark that run Dagster on its production storage.

The server is the one ``deployments/local-postgres.sh`` makes (TLS only over TCP, so
``sslmode: require`` of deployments/dagster.k8s.yaml holds; a role and database ``dagster``
with a random password; as root it runs as the user ``postgres``): one script for the tests,
the benchmark and ``make deploy-check``, so the three never drift apart. ``.ci/run`` installs
the package.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "deployments" / "local-postgres.sh"


def _script(*args: str) -> str:
    done = subprocess.run([str(SCRIPT), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"local-postgres.sh {args[0]} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Postgres:
    """A running server: its folder (under a parent of its own), port and the ``dagster``
    role's password."""

    folder: Path
    port: int
    password: str

    def stop(self) -> None:
        """Stop the server and remove everything it wrote."""
        try:
            _script("stop", str(self.folder))
        finally:
            shutil.rmtree(self.folder.parent, ignore_errors=True)

    def environment(self) -> dict[str, str]:
        """The variables deployments/dagster.k8s.yaml reads."""
        return {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_USER": "dagster",
            "DAGSTER_PG_PASSWORD": self.password,
            "DAGSTER_PG_DB": "dagster",
        }


def start_postgres() -> Postgres:
    """Start a fresh server in a new folder under /tmp; the parent is traversable (o+x)
    because as root the server's own user must reach the folder."""
    parent = Path(tempfile.mkdtemp(prefix="acav-pg-", dir="/tmp"))
    parent.chmod(0o711)
    folder, port = parent / "server", _free_port()
    try:
        url = urlsplit(_script("start", str(folder), str(port)))
    except BaseException:
        # a start that failed after its server came up (the role, say) leaves no server behind
        if (folder / "data" / "postmaster.pid").exists():
            subprocess.run([str(SCRIPT), "stop", str(folder)], capture_output=True)
        shutil.rmtree(parent, ignore_errors=True)
        raise
    if url.port != port or url.password is None:
        Postgres(folder, port, "").stop()
        raise RuntimeError(f"local-postgres.sh printed an unexpected URL for port {port}")
    return Postgres(folder, port, url.password)


def production_instance_yaml(server: Postgres, k8s_instance: dict) -> dict:
    """deployments/dagster.k8s.yaml's storage block as it is, but for the port (the local
    override: the cluster's database listens on 5432, this one on a free port); runs in this
    process need no launcher or queue of the cluster."""
    storage = {"postgres": dict(k8s_instance["storage"]["postgres"])}
    storage["postgres"]["postgres_db"] = {**storage["postgres"]["postgres_db"], "port": server.port}
    return {"storage": storage, "telemetry": {"enabled": False}}


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()
