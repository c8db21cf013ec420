"""Shared fixtures of the report tests: one analysis per sample bundle, a hostile bundle."""

from __future__ import annotations

import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted(p / "bundle" for p in (ROOT / "samples").iterdir()
                 if (p / "bundle").is_dir() and not p.name.startswith("_"))
ROUND1 = ROOT / "samples" / "opengauss_reform_round1_fail" / "bundle"
HEALTHY = ROOT / "samples" / "healthy_opengauss_switchover" / "bundle"
HOSTILE_LINE = '<script>alert(1)</script> &amp; "q" `tick` | *star* [x](http://example.invalid)'
HOSTILE_FILE = "notes<img src=x onerror=alert(2)>.txt"
# The evidence line of OG001 in the round-1 sample that the hostile copy extends.
EVIDENCE_FILE = "openGauss111/gausslog/pg_log/dn_6001/postgresql-2024-09-19_171113.log"
EVIDENCE_LINE = 52


def sample_id(bundle: Path) -> str:
    return bundle.parent.name


@cache
def document(bundle: Path) -> dict[str, Any]:
    """The JSON report document of a bundle (analysed once per test session)."""
    from reformdiag.pipeline import run
    from reformdiag.report.json_report import report_dict

    analysis, diagnosis = run([bundle])
    return report_dict(analysis, diagnosis)


@cache
def rules() -> list[Any]:
    from reformdiag.diagnose.catalog import rule_set

    return rule_set()


@pytest.fixture(scope="session")
def hostile_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The round-1 sample with markup in an evidence line and in a file name.

    A log line is data from the field: whatever it holds must stay text in every report.
    """
    bundle = tmp_path_factory.mktemp("hostile") / "bundle"
    shutil.copytree(ROUND1, bundle)
    log = bundle / EVIDENCE_FILE
    lines = log.read_text(encoding="utf-8").split("\n")
    assert "first-round reform failed" in lines[EVIDENCE_LINE - 1]
    lines[EVIDENCE_LINE - 1] += " " + HOSTILE_LINE
    log.write_text("\n".join(lines), encoding="utf-8")
    (bundle / HOSTILE_FILE).write_text("not a log\n", encoding="utf-8")
    return bundle
