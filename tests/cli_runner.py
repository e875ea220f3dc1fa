"""One CLI runner for the tests: its terminal is wide enough that rich never wraps a message,
so a test can match an error whose line breaks would move with the length of its tmp path."""

from __future__ import annotations

from typer.testing import CliRunner

WIDE_RUNNER = CliRunner(env={"COLUMNS": "1000", "TERMINAL_WIDTH": "1000"})
