"""--jobs N gives exactly what --jobs 1 gives (order, accounting, events, findings)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reformdiag.cli import app

ROOT = Path(__file__).resolve().parents[1]
BUNDLES = sorted(p / "bundle" for p in (ROOT / "samples").iterdir() if (p / "bundle").is_dir())


@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda p: p.parent.name)
def test_jobs_do_not_change_the_report(bundle: Path) -> None:
    runner = CliRunner()
    one = runner.invoke(app, ["analyze", str(bundle), "-f", "json", "--jobs", "1"])
    two = runner.invoke(app, ["analyze", str(bundle), "-f", "json", "--jobs", "2"])
    assert one.exit_code == 0 and two.exit_code == 0, one.output + two.output
    assert json.loads(one.stdout) == json.loads(two.stdout)
