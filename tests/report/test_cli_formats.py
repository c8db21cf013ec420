"""``reformdiag analyze --format ...`` as CI and people run it: stdout, -o FILE, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from reformdiag.cli import app
from tests.report.conftest import HEALTHY, ROUND1

runner = CliRunner()
DOCUMENTS = ("markdown", "html", "junit", "sarif", "json")
START = {"markdown": "# reformdiag incident report", "html": "<!DOCTYPE html>",
         "junit": "<?xml", "sarif": "{", "json": "{"}


@pytest.mark.scenario
@pytest.mark.parametrize("fmt", DOCUMENTS)
def test_every_format_goes_to_stdout_or_a_file_and_keeps_the_gate(fmt: str,
                                                                   tmp_path: Path) -> None:
    to_stdout = runner.invoke(app, ["analyze", str(ROUND1), "-f", fmt, "--fail-on", "high"])
    assert to_stdout.exit_code == 1, to_stdout.output  # a HIGH finding fails the gate
    assert to_stdout.stdout.startswith(START[fmt])
    target = tmp_path / f"report.{fmt}"
    to_file = runner.invoke(app, ["analyze", str(ROUND1), "-f", fmt, "-o", str(target)])
    assert to_file.exit_code == 0, to_file.output
    assert to_file.stdout == ""
    written = target.read_text(encoding="utf-8")
    assert written.startswith(START[fmt])
    assert written.rstrip("\n") == to_stdout.stdout.rstrip("\n")  # reproducible
    healthy = runner.invoke(app, ["analyze", str(HEALTHY), "-f", fmt, "--fail-on", "info"])
    assert healthy.exit_code == 0, healthy.output


def test_unknown_format_is_a_usage_error() -> None:
    result = runner.invoke(app, ["analyze", str(ROUND1), "-f", "pdf"])
    assert result.exit_code == 2
    assert "markdown" in result.output and "sarif" in result.output
