"""Pasted tickets: the OG-C03 excerpt exactly as published (editor line numbers, OCR damage)
yields the OG-C03 finding on its own; clean logs are never taken for pasted text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reformdiag.cli import app
from reformdiag.ingest.pasted import looks_pasted, repair
from reformdiag.ingest.reader import read_head
from reformdiag.ingest.sniff import sniff
from reformdiag.pipeline import analyse, run

ROOT = Path(__file__).resolve().parents[2]
PASTED = ROOT / "tests" / "fixtures" / "pasted"
CASES_MD = PASTED / "og_c03_cases_md.txt"  # both blocks of OG-C03 in cases.md, verbatim
SEED = PASTED / "og_c03_seed_detail.txt"  # the seed write-up's detail block, verbatim
SAMPLE = ROOT / "samples" / "opengauss_reform_round1_fail" / "bundle"


def _og003(paths: list[Path]):  # type: ignore[no-untyped-def]
    analysis, diagnosis = run(paths)
    return analysis, [f for f in diagnosis.all_findings() if f.rule == "OG003"], diagnosis


def test_og_c03_excerpt_as_published_yields_the_og_c03_finding() -> None:
    analysis, findings, diagnosis = _og003([CASES_MD])
    assert findings and "OG-C03" in findings[0].references
    recovery = [e for e in diagnosis.episodes if e.kind == "failover_recovery"
                and e.fields.get("first_reason") == "backends could not exit"]
    assert recovery, [e.message for e in diagnosis.episodes]
    first = findings[0]
    assert first.figures["attempts"]["value"] == 2
    assert first.figures["recovery_s"]["value"] == pytest.approx(146.112, abs=0.01)
    (report,) = analysis.inputs
    assert report.lines == 12 and report.unparsed == 0
    assert report.lines == report.records + report.continuation + report.unparsed
    assert "editor line numbers stripped from 7 lines (3013..3052)" in report.notes
    # the line whose glued module tag failed the grammar at column 115 is an event now
    assert any(e.line == 1 and e.kind == "failover_trigger" for e in analysis.events)


def test_og_c03_excerpt_through_the_cli() -> None:
    result = CliRunner().invoke(app, ["analyze", str(CASES_MD), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert "OG003" in {f["rule"] for f in report["findings"]}


def test_seed_detail_block_keeps_its_garbage_as_unparsed_lines() -> None:
    """42 lines: 38 numbered records, a wrapped statement, an upside-down OCR line, 'ss'."""
    analysis, findings, _ = _og003([SEED])
    (report,) = analysis.inputs
    assert report.lines == 42 == report.records + report.continuation + report.unparsed
    assert [u.line for u in report.unparsed_lines] == [5, 8, 9]
    assert report.unparsed == 3
    # 31 "could not fork" lines; OCR left letters inside a word on 7 ("new processaa for"):
    # those stay WARNING events without a name, no repair guesses words.
    refused = [e for e in analysis.events if e.kind == "connection_refused_pmstate"]
    assert len(refused) == 24 and {e.fields["pm_state"] for e in refused} == {"PM_WAIT_BACKENDS"}
    assert {e.fields.get("node_name") for e in refused} == {"dn_6001_6002"}
    ocr = [e for e in analysis.events if "could not fork new process" in e.message
           and e.kind == "log"]
    assert len(ocr) == 7 and all(e.level == "warning" for e in ocr)
    assert findings and findings[0].figures["refused_connections"]["value"] == 24


@pytest.mark.parametrize("damaged,clean", [
    ("2024-07-25 09:34:50.892 [unknown] [unknown] localhost 281453068005328 0[0:0#0] 0[DMS] LOG:"
     " [SS failover] failover trigger.",
     "2024-07-25 09:34:50.892 [unknown] [unknown] localhost 281453068005328 0[0:0#0] 0 [DMS] LOG:"
     " [SS failover] failover trigger."),
    ("2024-07-25 09:35:21.964 [unknown][unknown] localhost 281453068005328 0[0:0#0]0 [DMS] WARNING"
     ": x", "2024-07-25 09:35:21.964 [unknown] [unknown] localhost 281453068005328 0[0:0#0] 0 "
            "[DMS] WARNING: x"),
    ("2024-07-25 15:20:01.59865040532.1 [unknown] 281457026138128 [unknown] 0 dn 6001 6002 01000 0"
     " [BACKEND] WARNING: could not fork new process for connection due to PMstate PM WAIT "
     "BACKENDS",
     "2024-07-25 15:20:01.598 65040532.1 [unknown] 281457026138128 [unknown] 0 dn_6001_6002 01000 "
     "0 [BACKEND] WARNING: could not fork new process for connection due to PMstate "
     "PM_WAIT_BACKENDS"),
    ("x 0 dn 6001 600201000 0 [BACKEND] WARNING: y", "x 0 dn_6001_6002 01000 0 [BACKEND] WARNING: y"),
    ("x 0 dn_60016002 01000 0 [BACKEND ] WARNING: y", "x 0 dn_6001_6002 01000 0 [BACKEND] WARNING: y"),
    ("024-10-09 10:16:08.771 x", "2024-10-09 10:16:08.771 x"),  # OG-C02: first char lost
])
def test_repairs_of_published_damage(damaged: str, clean: str) -> None:
    assert repair(damaged)[0] == clean
    assert repair(clean) == (clean, ())  # a repaired line needs no more repair


def _clean_logs() -> list[Path]:
    return sorted(p for p in (ROOT / "samples").rglob("bundle/**/*") if p.is_file())


@pytest.mark.parametrize("path", _clean_logs(), ids=lambda p: str(p.relative_to(ROOT / "samples")))
def test_clean_logs_are_never_taken_for_pasted_text(path: Path, registry) -> None:  # type: ignore[no-untyped-def]
    from reformdiag.ingest.discover import discover

    (source,), _ = discover([path])
    head = read_head(source)
    verdict = sniff(head, source.display, registry.sniff_candidates())
    assert not verdict.pasted, verdict.reason
    lines = head.decode("utf-8", "replace").splitlines()
    assert all(repair(line) == (line, ()) for line in lines if not looks_pasted([line]))


def test_a_ticket_line_longer_than_a_read_block_is_cut_with_a_note(tmp_path: Path) -> None:
    """The reader cuts a line too long for its buffer in a pasted ticket as in any file, and
    says so (the note was missing for tickets)."""
    pg = (SAMPLE / "openGauss111/gausslog/pg_log/dn_6001/postgresql-2024-09-19_171113.log"
          ).read_text().splitlines()[50:54]
    lines = [f"{i} {ln}" for i, ln in enumerate(pg, start=1)]
    lines.insert(2, "x" * (9 * 1024 * 1024))  # longer than a read block: the reader cuts it
    ticket = tmp_path / "ticket.txt"
    ticket.write_text("\n".join(lines) + "\n")
    (report,) = analyse([ticket]).analysed
    assert "pasted text" in report.notes[0]
    assert "1 line(s) longer than 1 MiB, truncated" in report.notes
    assert report.lines == 5 == report.records + report.continuation + report.unparsed


def test_a_ticket_mixing_formats_is_analysed_like_a_bundle(tmp_path: Path) -> None:
    """pg_log and DMS lines of OG-C01 pasted into one ticket, numbered by the editor."""
    pg = (SAMPLE / "openGauss111/gausslog/pg_log/dn_6001/postgresql-2024-09-19_171113.log"
          ).read_text().splitlines()[50:54]
    dms = (SAMPLE / "openGauss111/gausslog/pg_log/DMS/run/dms.rlog").read_text().splitlines()
    dms = [ln for ln in dms if "disconnect node" in ln][:2]
    lines = [f"{i} {ln}" for i, ln in enumerate([*pg[:2], *dms, *pg[2:]], start=101)]
    ticket = tmp_path / "ticket.txt"
    ticket.write_text("Customer says:\n\n" + "\n".join(lines) + "\n")
    a = analyse([ticket])
    sources = {e.source for e in a.events}
    assert {"opengauss_pg_log", "dms_run_log"} <= sources
    formats = {r.format for r in a.analysed}
    assert formats == {"opengauss_pg_log", "dms_run_log"}  # both sources count as present
    (main,) = [r for r in a.analysed if r.lines]
    assert main.lines == 2 + len(lines) == main.records + main.continuation + main.unparsed
    assert main.unparsed == 1  # "Customer says:"
    assert {e.line for e in a.events if e.source == "dms_run_log"} <= {5, 6}
