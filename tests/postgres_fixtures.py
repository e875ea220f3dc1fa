"""A throwaway PostgreSQL (Debian's ``postgresql`` package) on 127.0.0.1, for the tests and
the benchmark that run Dagster on its production storage.

The approach of ``deployments/local-postgres.sh``: a fresh cluster in a folder of its own, a
role and database ``dagster`` with a random password, TLS only over TCP (a self-signed
certificate, so ``sslmode: require`` of deployments/dagster.k8s.yaml holds), listening on
127.0.0.1 only. PostgreSQL refuses to run as root: as root the server runs as the user
``postgres`` that Debian's package creates. ``.ci/run`` installs the package.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PG_USER = "postgres"


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        raise RuntimeError(
            "PostgreSQL is missing: apt-get install postgresql (.ci/run installs it)"
        )
    return Path(found[-1]).parent


def _as_owner(*args: str, **kwargs) -> subprocess.CompletedProcess:
    command = ["runuser", "-u", PG_USER, "--", *args] if os.geteuid() == 0 else list(args)
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Postgres:
    """A running server: where it listens and the ``dagster`` role's password."""

    folder: Path
    port: int
    password: str

    def stop(self) -> None:
        _as_owner(str(_bindir() / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast",
                  "-w", "stop")  # fmt: skip

    def environment(self) -> dict[str, str]:
        """The variables deployments/dagster.k8s.yaml reads."""
        return {
            "DAGSTER_PG_HOST": "127.0.0.1",
            "DAGSTER_PG_USER": "dagster",
            "DAGSTER_PG_PASSWORD": self.password,
            "DAGSTER_PG_DB": "dagster",
        }


def start_postgres() -> Postgres:
    """Start a fresh cluster in a new folder under /tmp (the server's user must reach it)."""
    bindir = _bindir()
    folder = Path(tempfile.mkdtemp(prefix="acav-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(folder, PG_USER)
    data, password, port = folder / "data", secrets.token_hex(16), _free_port()
    _as_owner("sh", "-c", f"umask 077; printf '%s\\n' '{password}' > '{folder}/password'")
    _as_owner(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth-local=peer",
              "--auth-host=scram-sha-256", f"--pwfile={folder}/password", "-E", "UTF8",
              "--no-instructions")  # fmt: skip
    _as_owner("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
              "-subj", "/CN=127.0.0.1", "-keyout", str(data / "server.key"),
              "-out", str(data / "server.crt"))  # fmt: skip
    _as_owner("chmod", "600", str(data / "server.key"))
    _as_owner("sh", "-c", f"printf 'local all all peer\\nhostssl all all 127.0.0.1/32 "
                          f"scram-sha-256\\n' > '{data}/pg_hba.conf'")  # fmt: skip
    _as_owner(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w",
              "-t", "60", "-o", f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c ssl=on",
              "start")  # fmt: skip
    _as_owner(str(bindir / "psql"), "-h", str(folder), "-p", str(port), "-U", "postgres", "-d",
              "postgres", "-v", "ON_ERROR_STOP=1", "-q",
              "-c", f"CREATE ROLE dagster LOGIN PASSWORD '{password}'",
              "-c", "CREATE DATABASE dagster OWNER dagster")  # fmt: skip
    return Postgres(folder, port, password)


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
        shutil.rmtree(server.folder, ignore_errors=True)
