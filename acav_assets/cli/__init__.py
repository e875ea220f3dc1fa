"""The ``acav`` command: thin fronts over core/ and the code location's jobs.

One module per command group; each registers its commands on ``app``. Every command shows
progress on stderr and prints one JSON summary as its last line on stdout.
"""

from acav_assets.cli import catalog, curate, doctor, embed, ingest, select
from acav_assets.cli.app import app

__all__ = ["app", "catalog", "curate", "doctor", "embed", "ingest", "main", "select"]


def main() -> None:
    app()
