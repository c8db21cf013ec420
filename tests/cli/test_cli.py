"""The CLI as a user runs it: commands, exit codes, outputs, bad arguments."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reformdiag.cli import app

ROOT = Path(__file__).resolve().parents[2]
ROUND1 = ROOT / "samples" / "opengauss_reform_round1_fail" / "bundle"
FAILOVER = ROOT / "samples" / "opengauss_failover_backends_stuck" / "bundle"
HEALTHY = ROOT / "samples" / "healthy_opengauss_switchover" / "bundle"
runner = CliRunner()


def test_analyze_text_names_cause_and_remediation() -> None:
    result = runner.invoke(app, ["analyze", str(ROUND1)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "VERDICT" in out and "OG001" in out and "[OG-C01]" in out
    assert "openGauss111 (inst 0, dn_6001)" in out and "openGauss137 (inst 2, dn_6003)" in out
    assert "cm_ctl query -Cv" in out
    assert out.index("VERDICT") < out.index("FINDINGS") < out.index("EPISODES") < out.index(
        "INPUTS AND COVERAGE")


def test_exit_codes_follow_fail_on() -> None:
    assert runner.invoke(app, ["analyze", str(FAILOVER), "--fail-on", "high"]).exit_code == 1
    assert runner.invoke(app, ["analyze", str(FAILOVER), "--fail-on", "critical"]).exit_code == 0
    assert runner.invoke(app, ["analyze", str(HEALTHY), "--fail-on", "medium"]).exit_code == 0
    assert runner.invoke(app, ["analyze", str(HEALTHY), "--fail-on", "bogus"]).exit_code == 2


NEEDS_DMS = """id: GN900
name: test.needs_dms
title: Test Rule That Needs The DMS Run Log
level: low
systems: [opengauss]
requires: {all: [dms_run_log]}
description: Detects any DMS disconnect (a test rule).
references: [OG-C01]
match: {sel: {source: dms_run_log, kind: node_disconnect}, condition: sel}
diagnosis: {root_cause: x, remediation: "1. y"}
falsepositives: [none]
tests: {positive: [{name: p, logs: {}}], negative: [{name: n, logs: {}}]}
"""


def test_missing_source_gives_exit_3_with_fail_on_missing(tmp_path: Path) -> None:
    bundle, rules = tmp_path / "b", tmp_path / "r"
    bundle.mkdir()
    rules.mkdir()
    (rules / "GN900_needs_dms.yaml").write_text(NEEDS_DMS)
    pg = next(ROUND1.rglob("postgresql-*.log"))
    shutil.copy(pg, bundle / pg.name)
    args = ["analyze", str(bundle), "--rules", str(rules)]
    result = runner.invoke(app, [*args, "--fail-on-missing"])
    assert result.exit_code == 3, result.output
    assert runner.invoke(app, args).exit_code == 0
    doc = json.loads(runner.invoke(app, [*args, "-f", "json"]).stdout)
    gn = next(r for r in doc["rules"] if r["rule"] == "GN900")
    assert gn["status"] == "not evaluable" and gn["missing"] == ["dms_run_log"]
    assert doc["cluster"][0]["dn_instance"] == 6003  # a lone file is placed by its content


def test_nothing_analysable_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("hello\n")
    result = runner.invoke(app, ["analyze", str(tmp_path)])
    assert result.exit_code == 2
    assert "a.txt: not recognised" in result.stdout
    assert runner.invoke(app, ["analyze", str(tmp_path / "nope")]).exit_code == 2


def test_json_has_required_finding_keys() -> None:
    result = runner.invoke(app, ["analyze", str(FAILOVER), "-f", "json"])
    doc = json.loads(result.stdout)
    f = doc["findings"][0]
    for key in ("rule", "name", "title", "severity", "references", "nodes", "start", "end",
                "root_cause", "remediation", "figures", "evidence"):
        assert key in f
    assert doc["inputs"] and doc["cluster"]


def test_output_file(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    result = runner.invoke(app, ["analyze", str(FAILOVER), "-f", "json", "-o", str(out)])
    assert result.exit_code == 0 and json.loads(out.read_text())["findings"]


def test_timeline_orders_nodes_and_filters() -> None:
    result = runner.invoke(app, ["timeline", str(ROUND1), "--since", "2024-09-19T09:14:00",
                                 "--until", "2024-09-19T09:15:00"])
    assert result.exit_code == 0, result.output
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith("09-19")]
    assert [ln[:18] for ln in lines] == sorted(ln[:18] for ln in lines)
    text = result.stdout
    assert text.index("first-round reform failed, shutdown now") < text.index(
        "database system is shut down") < text.index("disconnect node 2")
    only = runner.invoke(app, ["timeline", str(ROUND1), "--node", "openGauss137",
                               "--level", "warning"])
    assert all("openGauss137" in ln for ln in only.stdout.splitlines() if ln.startswith("09-"))


def test_timeline_exports(tmp_path: Path) -> None:
    csv = runner.invoke(app, ["timeline", str(FAILOVER), "-f", "csv"])
    assert csv.stdout.startswith("time,node,source,level,kind,message")
    jsonl = runner.invoke(app, ["timeline", str(FAILOVER), "-f", "jsonl", "--all"])
    rows = [json.loads(x) for x in jsonl.stdout.splitlines()]
    assert rows and {"time", "node", "kind"} <= set(rows[0])
    result = runner.invoke(app, ["timeline", str(FAILOVER), "--episodes"])
    assert "failover_recovery" in result.stdout


def test_timeline_all_shows_every_record_of_a_ticket() -> None:
    """Pasted text (a ticket) in the full view: its unnamed INFO lines too, not only the
    events the analysis keeps; those keep the analysis's node and time."""
    ticket = ROOT / "tests/fixtures/pasted/og_c03_seed_detail.txt"
    kept = runner.invoke(app, ["timeline", str(ticket), "-f", "jsonl", "--level", "debug"])
    full = runner.invoke(app, ["timeline", str(ticket), "-f", "jsonl", "--all"])
    kept_rows = [json.loads(x) for x in kept.stdout.splitlines()]
    full_rows = [json.loads(x) for x in full.stdout.splitlines()]
    assert {(r["line"], r["kind"], r["time"]) for r in kept_rows} < \
        {(r["line"], r["kind"], r["time"]) for r in full_rows}
    assert any(r["kind"] == "log" and r["level"] == "info" for r in full_rows)


def test_rules_and_formats_commands() -> None:
    assert "OG001" in runner.invoke(app, ["rules", "list"]).stdout
    explained = runner.invoke(app, ["explain", "OG-C03"]).stdout
    assert "What it detects" in explained and "Remediation" in explained
    assert runner.invoke(app, ["explain", "NOPE"]).exit_code == 2
    assert "cbb_run_log" in runner.invoke(app, ["formats", "list"]).stdout


def test_timeline_all_csv_is_written_in_batches_with_the_same_text(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """--all streams: CSV goes out a frame of CSV_BATCH events at a time, one header."""
    from reformdiag.cli import timeline as timeline_cli

    whole = runner.invoke(app, ["timeline", str(ROUND1), "--all", "-f", "csv"])
    assert whole.exit_code == 0, whole.output
    monkeypatch.setattr(timeline_cli, "BATCH", 7)
    batched = runner.invoke(app, ["timeline", str(ROUND1), "--all", "-f", "csv"])
    assert batched.stdout == whole.stdout
    assert whole.stdout.count("time,node,source") == 1 and whole.stdout.count("\n") > 7 * 10
    empty = runner.invoke(app, ["timeline", str(ROUND1), "--all", "-f", "csv",
                                 "--since", "2099-01-01T00:00:00"])
    assert empty.stdout.startswith("time,node,source") and empty.stdout.count("\n") == 1


def test_timeline_all_parquet_in_row_groups_reads_back_as_one_frame(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    from reformdiag.cli import timeline as timeline_cli

    whole, batched = tmp_path / "whole.parquet", tmp_path / "batched.parquet"
    args = ["timeline", str(ROUND1), "--all", "-f", "parquet", "-o"]
    assert runner.invoke(app, [*args, str(whole)]).exit_code == 0
    monkeypatch.setattr(timeline_cli, "BATCH", 7)
    assert runner.invoke(app, [*args, str(batched)]).exit_code == 0
    one, many = pd.read_parquet(whole), pd.read_parquet(batched)
    assert len(one) > 7 * 10 and str(one["kind"].dtype) == "category"
    pd.testing.assert_frame_equal(one, many, check_categorical=False)
    csv = runner.invoke(app, ["timeline", str(ROUND1), "--all", "-f", "csv"]).stdout
    assert len(one) == len(pd.read_csv(io.StringIO(csv)))  # messages may hold newlines
    empty = tmp_path / "empty.parquet"
    assert runner.invoke(app, [*args, str(empty), "--since", "2099-01-01T00:00:00"]).exit_code == 0
    assert len(pd.read_parquet(empty)) == 0


def test_version_names_the_accelerators_in_use(monkeypatch: pytest.MonkeyPatch) -> None:
    from reformdiag import __version__
    from reformdiag.ingest import lines

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith(f"reformdiag {__version__}\n")
    assert "stage one line pass:" in result.stdout and "stage two parser:" in result.stdout
    monkeypatch.setattr(lines, "_linescan", None)  # as installed without a C compiler
    assert "numpy (no compiled module" in runner.invoke(app, ["--version"]).stdout
    assert "Usage:" in runner.invoke(app, []).output  # no command: the help, as before


def test_broken_rule_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "GN999_broken.yaml").write_text("id: GN999\nname: x.y\n")
    result = runner.invoke(app, ["analyze", str(FAILOVER), "--rules", str(tmp_path)])
    assert result.exit_code == 2
    assert "GN999_broken.yaml" in result.output and "help:" in result.output


@pytest.mark.slow
def test_installed_console_script_from_another_directory(tmp_path: Path) -> None:
    """The installed script finds its grammars and rules without the checkout on sys.path."""
    script = shutil.which("reformdiag") or str(Path(sys.executable).with_name("reformdiag"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([script, "analyze", str(ROUND1), "--format", "json"], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert {i["format"] for i in doc["inputs"]} >= {"opengauss_pg_log", "dms_run_log",
                                                    "cm_ctl_query"}
    assert doc["findings"][0]["rule"] == "OG001"


def test_the_process_exit_code_is_the_gate(tmp_path: Path) -> None:
    """``main`` (the console script, ``python -m reformdiag``) ends the process with the
    command's exit code and its whole output written, after freezing the collector."""
    out = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, "-m", "reformdiag", "analyze", str(FAILOVER),
                           "--fail-on", "high", "-f", "json", "-o", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert json.loads(out.read_text())["findings"][0]["rule"] == "OG003"
    proc = subprocess.run([sys.executable, "-m", "reformdiag", "analyze", str(HEALTHY),
                           "--fail-on", "high", "-f", "json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["findings"] == []


@pytest.mark.skipif(not hasattr(signal, "SIGPIPE"), reason="POSIX pipes")
@pytest.mark.parametrize("args", [[str(HEALTHY)],
                                  [str(FAILOVER), "-f", "json", "--fail-on", "high"]],
                         ids=["text", "json"])
def test_a_reader_that_goes_away_ends_the_process_by_sigpipe(args: list[str]) -> None:
    """``reformdiag analyze ... | head``: rich and click exited 1, the gate's "findings"
    code, whatever was found (and JSON gave an internal error). Now it ends as grep does."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first write
    try:
        proc = subprocess.run([sys.executable, "-m", "reformdiag", "analyze", *args],
                              stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert proc.returncode == -signal.SIGPIPE, proc.stderr
    assert "internal error" not in proc.stderr


def test_timeline_all_streams_every_record_in_time_order() -> None:
    report = json.loads(runner.invoke(app, ["analyze", str(ROUND1), "-f", "json"]).stdout)
    rows = [json.loads(x) for x in runner.invoke(
        app, ["timeline", str(ROUND1), "--all", "-f", "jsonl"]).stdout.splitlines()]
    times = [r["time"] for r in rows if r["time"]]
    assert times == sorted(times)
    for inp in report["inputs"]:
        if inp["format"] == "cm_ctl_query":
            continue
        streamed = sum(1 for r in rows if r["file"] == inp["path"])
        # every record is there, except auxiliary DETAIL/HINT records folded into their parent
        assert inp["records"] - 5 <= streamed <= inp["records"], inp["path"]


def test_a_broken_pipe_that_is_not_stdout_is_reported_as_a_bug(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a closed stdout ends the process quietly; any other broken pipe (a worker's) is
    an internal error with its message."""
    import reformdiag.pipeline as pipeline

    def broken(*_args: object, **_kwargs: object) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(pipeline, "run", broken)
    result = runner.invoke(app, ["analyze", str(HEALTHY)])
    assert result.exit_code == 2
    assert "internal error: BrokenPipeError" in result.output


@pytest.mark.parametrize("args", [
    ["analyze", str(HEALTHY), "-f", "json", "-o", "{out}/reports/r.json"],
    ["timeline", str(HEALTHY), "-o", "{out}/reports/t.txt"],
    ["timeline", str(HEALTHY), "-f", "csv", "-o", "{out}/reports/t.csv"],
    ["batch", str(HEALTHY), "-o", "{out}/reports/s.json"],
])
def test_output_folder_is_made(tmp_path: Path, args: list[str]) -> None:
    """A CI job writes `-o reports/...` in a fresh checkout (this was an internal error in
    timeline and batch)."""
    args = [a.replace("{out}", str(tmp_path)) for a in args]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert Path(args[-1]).stat().st_size > 0


def test_output_that_cannot_be_written_is_refused_before_the_work(tmp_path: Path,
                                                                  monkeypatch) -> None:
    import reformdiag.pipeline as pipeline

    monkeypatch.setattr(pipeline, "run", lambda *a, **k: pytest.fail("the bundle was read"))
    result = runner.invoke(app, ["analyze", str(HEALTHY), "-f", "json", "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert f"cannot write {tmp_path}: it is a folder" in " ".join(result.output.split())


@pytest.mark.parametrize("args,message", [
    (["analyze", str(HEALTHY), "--tz", "+25:00"], "no time zone is '+25:00'"),
    (["analyze", str(HEALTHY), "--tz", "+08:75"], "no time zone is '+08:75'"),
    (["analyze", str(HEALTHY), "--jobs", "-3"], "--jobs -3: give a number of processes"),
    (["batch", str(HEALTHY), "--jobs", "-1"], "--jobs -1: give a number of processes"),
    (["timeline", str(HEALTHY), "--node", "openGauss111", "--node", "opengauss135"],
     "no node 'opengauss135' in this bundle"),
])
def test_impossible_arguments_are_usage_errors(args: list[str], message: str) -> None:
    """Each was accepted: a zone of UTC+25, negative processes, or a misspelt node that
    printed an empty timeline."""
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


def test_unknown_node_lists_the_nodes() -> None:
    result = runner.invoke(app, ["timeline", str(HEALTHY), "--node", "nosuch"])
    assert "its nodes: cluster, openGauss111, openGauss135, openGauss137" in " ".join(
        result.output.split())


def test_zone_offsets_at_the_ends_are_read() -> None:
    from reformdiag.timeline.clock import parse_tz

    assert (parse_tz("-12:00"), parse_tz("UTC+14"), parse_tz("+0530")) == (-720, 840, 330)


@pytest.mark.parametrize("case,rule", [("OG-C03", "OG003"), ("og-c01", "OG001"),
                                       ("OG-C18", "OG018"), ("NDB-1", "ND001")])
def test_explain_a_case_shows_the_rule_made_for_it(case: str, rule: str) -> None:
    """`explain OG-C03` (the README's example) showed GN003, a generic rule that also cites
    the case, because it comes first in the list."""
    result = runner.invoke(app, ["explain", case])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{rule}  ")
