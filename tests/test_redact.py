"""--redact: no IP address, host name, user name or path of the bundle in any output, the same
pseudonym for the same name everywhere, and the same pseudonyms on every run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reformdiag.cli import app
from reformdiag.cli.analyze import FORMATS
from reformdiag.pipeline import run
from reformdiag.redact import Redactor, redact

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "samples" / "opengauss_reform_round1_fail" / "bundle"
TICKET = ROOT / "tests" / "fixtures" / "pasted" / "og_c03_cases_md.txt"


def _secrets() -> set[str]:
    """What the bundle says about the customer: host names, IPs, the folders of its paths."""
    analysis, _ = run([BUNDLE])
    text = "\n".join(p.read_text(errors="replace") for p in BUNDLE.rglob("*") if p.is_file())
    hosts = {n.host for n in analysis.cluster.nodes if n.host}
    ips = set(re.findall(r"\b(?:\d{1,3}\.){3}\d{1,3}\b", text)) - {"6.0.0.8"}  # a version
    folders = {part for path in re.findall(r"'(/[^']+)'", text) for part in path.split("/")
               if part and part not in {"openGauss", "cluster", "log", "pg_log", "DMS", "run",
                                        "debug", "gaussdb", "dms.rlog", "dms.dlog"}}
    assert hosts and ips and folders  # the sample has all three to hide
    return hosts | ips | folders


SECRETS = _secrets()


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_secret_in_any_report_format(fmt: str) -> None:
    out = _invoke("analyze", str(BUNDLE), "--format", fmt, "--redact")
    assert [s for s in SECRETS if s in out] == []
    plain = _invoke("analyze", str(BUNDLE), "--format", fmt)
    assert [s for s in SECRETS if s in plain], "the unredacted report names them"


@pytest.mark.parametrize("args", [["--format", "csv"], ["--format", "jsonl"], ["--all"],
                                  ["--episodes", "--format", "jsonl"]])
def test_no_secret_in_timeline_exports(args: list[str]) -> None:
    out = _invoke("timeline", str(BUNDLE), "--redact", *args)
    assert out.strip() and [s for s in SECRETS if s in out] == []


def test_same_host_same_pseudonym_everywhere_and_on_every_run() -> None:
    report = json.loads(_invoke("analyze", str(BUNDLE), "--format", "json", "--redact"))
    text = _invoke("analyze", str(BUNDLE), "--redact")
    hosts = {n["dn_instance"]: n["host"] for n in report["cluster"]}
    assert hosts == {6001: "host-1", 6002: "host-2", 6003: "host-3"}  # numbered in name order
    assert "host-1 (inst 0, dn_6001) failed its first-round" in " ".join(text.split())
    paths = {i["path"] for i in report["inputs"]}
    assert "host-1/gausslog/pg_log/dn_6001/postgresql-2024-09-19_171113.log" in paths
    timeline = _invoke("timeline", str(BUNDLE), "--format", "jsonl", "--redact")
    nodes = {json.loads(line)["node"] for line in timeline.splitlines()}
    assert nodes <= {"host-1", "host-2", "host-3", "cluster"}
    again = json.loads(_invoke("analyze", str(BUNDLE), "--format", "json", "--redact"))
    assert again["findings"] == report["findings"] and again["inputs"] == report["inputs"]


def test_redaction_rewrites_text_consistently() -> None:
    r = Redactor()
    r.hosts = {"openGauss111": "host-1"}
    r.users = {"omm": "user-1"}
    r._compile()
    line = ("[LOG] file '/usr1/omm/openGauss/pg_log/DMS/run/dms.rlog' is added; MES LSNR "
            "192.168.100.111:5505 on openGauss111, peer fe80::1ff:fe23:4567:890a, user=omm, "
            "at 2024-09-19 17:14:12.592 (/proc/sys/kernel/numa_balancing is 1)")
    out = r.text(line)
    assert out == ("[LOG] file '/path-1/dms.rlog' is added; MES LSNR ip-1:5505 on host-1, peer "
                   "ip-2, user=user-1, at 2024-09-19 17:14:12.592 "
                   "(/proc/sys/kernel/numa_balancing is 1)")
    assert r.text(out) == out  # pseudonyms are never redacted again
    assert r.text("/usr1/omm/openGauss/pg_log/DMS/run/dms_2024.rlog") == "/path-1/dms_2024.rlog"


def test_objects_shared_by_analysis_and_diagnosis_are_redacted_once() -> None:
    analysis, diagnosis = run([TICKET])
    for e in analysis.events:
        e.raw += " (from /home/alice/tickets/4711)"
    redactor = redact(analysis, diagnosis)
    raws = {e.raw.rsplit("(from ", 1)[1] for e in analysis.events}
    assert raws == {"/path-1)"}, raws
    assert redactor.paths == {"/home/alice/tickets": "/path-1"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_bundle_path_given_is_not_quoted_either(tmp_path: Path, fmt: str) -> None:
    import shutil

    bundle = tmp_path / "acme_bank_incident_4711" / "bundle"
    shutil.copytree(BUNDLE, bundle)
    out = _invoke("analyze", str(bundle), "--format", fmt, "--redact")
    assert "acme_bank" not in out and str(tmp_path) not in out
