"""Times at or past the calendar's edges (years 1 and 9999, damaged seconds counts, forged
modification times) cost the lines that hold them their own time, never the analysis.

Found by mutating the samples: a seconds-since-boot of 10^18 in a dlm_tool dump or a
dlm_controld line, a DMS line of 0001-01-01 with UTC+8, and an archive member dated past year
9999 each stopped the whole run."""

from __future__ import annotations

import os
import shutil
import tarfile
from pathlib import Path

from reformdiag.diagnose.catalog import rule_set
from reformdiag.pipeline import run
from reformdiag.report.render import render_document
from reformdiag.timeline.clock import OUT_OF_RANGE, unix_time

ROOT = Path(__file__).resolve().parents[2]
DLM = ROOT / "samples" / "dlm_stateful_merge" / "bundle"
DMS = "UTC{off} {ts}|DMS|3140211|INFO>[mes]: disconnect node 2. [mes_func.c:1954]\n"


def test_a_dms_time_that_leaves_the_calendar_in_utc_takes_its_neighbours(tmp_path: Path
                                                                          ) -> None:
    run_dir = tmp_path / "host1" / "gausslog" / "pg_log" / "DMS" / "run"
    run_dir.mkdir(parents=True)
    (run_dir / "dms.rlog").write_text("".join([
        DMS.format(off="+8", ts="2024-09-19 17:14:36.000"),
        DMS.format(off="+8", ts="0001-01-01 00:00:00.354"),
        DMS.format(off="-8", ts="9999-12-31 23:59:59.354"),
        DMS.format(off="+0", ts="0001-01-01 00:00:00.354"),  # on the calendar, but a window
        DMS.format(off="+0", ts="9999-12-31 23:59:59.354"),  # of minutes would leave it
        DMS.format(off="+8", ts="2024-09-19 17:14:37.354"),
    ]))
    analysis, diagnosis = run([tmp_path])
    (report,) = analysis.inputs
    assert report.status == "analysed" and report.events == 6
    odd = [e for e in analysis.events if e.local_time and e.local_time.year in (1, 9999)]
    assert len(odd) == 4
    assert all(e.time == analysis.events[0].time for e in odd)
    assert all(e.time_note == f"{OUT_OF_RANGE}: time of the record before it" for e in odd)
    assert diagnosis.findings  # the disconnects, at the times of the records around them
    for fmt in ("json", "markdown", "html", "junit", "sarif"):
        assert render_document(fmt, analysis, diagnosis, [str(tmp_path)], rule_set())


def test_damaged_seconds_since_boot_leave_their_lines_unplaced(tmp_path: Path) -> None:
    big = 999_999_999_999_999_999  # the largest a field reads as a number: 18 digits
    bundle = tmp_path / "b"
    shutil.copytree(DLM, bundle)
    dump = bundle / "host-a" / "dlm_dump.txt"
    text = dump.read_text()
    dump.write_text(text.replace("8830 cluster node 13 removed", f"{big} cluster node 13 removed"))
    log = bundle / "host-a" / "ha-log.txt"
    text = log.read_text()
    assert "dlm_controld[2210]: 8841 daemon node 13" in text
    log.write_text(text.replace("dlm_controld[2210]: 8841 daemon node 13",
                                f"dlm_controld[2210]: {big} daemon node 13")
                   + "Jul 19 17:22:46 host-a dlm_controld[2210]: 8842 fence status 13 receive 0 "
                     f"from 1 walltime {big} local 8842\n")
    _, clean = run([DLM])
    analysis, diagnosis = run([bundle])
    assert all(r.status == "analysed" for r in analysis.inputs)
    damaged = [e for e in analysis.events if e.fields.get("monotime") == big]
    assert {e.file for e in damaged} == {"host-a/dlm_dump.txt", "host-a/ha-log.txt"}
    assert [e.local_time for e in damaged if e.file.endswith("dlm_dump.txt")] == [None]
    # the host's boot time is known: its other dump lines are placed, and the notes say so
    assert any(n.startswith("host-a: seconds-since-boot lines (dlm_tool dump) placed")
               for n in analysis.time_notes), analysis.time_notes
    assert not any("not on the timeline" in n for n in analysis.time_notes)
    assert any(e.fields.get("walltime") == big for e in analysis.events)
    assert [f.rule for f in diagnosis.findings] == [f.rule for f in clean.findings]


def test_a_forged_member_modification_time_is_ignored(tmp_path: Path) -> None:
    member = tmp_path / "dms.rlog"
    member.write_text(DMS.format(off="+8", ts="2024-09-19 17:14:37.354"))
    archive = tmp_path / "in" / "bundle.tar"
    archive.parent.mkdir()
    with tarfile.open(archive, "w", format=tarfile.GNU_FORMAT) as tar:
        info = tar.gettarinfo(str(member), arcname="host1/gausslog/pg_log/DMS/run/dms.rlog")
        info.mtime = 8 ** 20  # base-256 in GNU headers: far past year 9999
        with member.open("rb") as handle:
            tar.addfile(info, handle)
    os.utime(archive, (0, 0))
    assert unix_time(8 ** 20) is None and unix_time(0) is not None
    analysis, _ = run([archive.parent])
    assert [r.status for r in analysis.inputs] == ["analysed"]
    assert analysis.events[0].time is not None


def test_the_report_reads_its_own_times_back_at_the_calendar_s_ends() -> None:
    """strftime's %Y wrote year 1 as '1', which fromisoformat refused (found by the mutation
    tests); the layout's paddings stop at the calendar's ends instead of raising."""
    from datetime import UTC, datetime, timedelta

    from reformdiag.report.common import iso
    from reformdiag.report.timeline_layout import _plus, parse_time

    for moment in (datetime(1, 1, 1, 0, 0, 0, 354000, tzinfo=UTC),
                   datetime(999, 5, 6, 7, 8, 9, tzinfo=UTC),
                   datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)):
        assert parse_time(iso(moment)) == moment
    assert iso(datetime(1, 1, 1, tzinfo=UTC)) == "0001-01-01T00:00:00.000Z"
    assert _plus(datetime(1, 1, 1, 0, 5, tzinfo=UTC), -timedelta(minutes=10)).year == 1
    assert _plus(datetime(9999, 12, 31, 23, 55, tzinfo=UTC), timedelta(minutes=10)).year == 9999
