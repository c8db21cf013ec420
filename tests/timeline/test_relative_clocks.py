"""Year-less syslog stamps get their year, and `dlm_tool dump`'s seconds since boot get a wall
clock from the same host's dlm_controld syslog lines (timeline/relative.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from reformdiag.model import Event
from reformdiag.parse.timestamps import YEAR_MISSING, read_timestamp
from reformdiag.timeline.relative import Clocks, align_boot_clocks, infer_years, with_year


def _ev(file: str, local: datetime | None, note: str = "", host: str = "host-a",
        **fields: object) -> Event:
    return Event(source="ha_syslog", system="dlm", file=file, line=1, kind="log", level="info",
                 message="", raw="", local_time=local, time_note=note, host=host,
                 fields=dict(fields))


def test_syslog_stamp_is_read_without_a_year_and_says_so() -> None:
    moment, note = read_timestamp("Feb 29 23:59:59", ("%b %d %H:%M:%S",))
    assert (moment, note) == (datetime(2000, 2, 29, 23, 59, 59), YEAR_MISSING)
    assert read_timestamp("Jul 19 17:22:45", ())[1] == "timestamp unreadable"


def test_year_comes_from_the_bundle_s_latest_dated_time() -> None:
    syslog = _ev("a/ha-log.txt", datetime(2000, 7, 19, 17, 22, 45), YEAR_MISSING)
    dated = _ev("b/ndb_1_out.log", datetime(2023, 8, 1, 9, 0, 0))
    clocks = Clocks()
    infer_years([syslog, dated], {}, clocks)
    assert syslog.local_time == datetime(2023, 7, 19, 17, 22, 45)
    assert "2023, from the latest dated time" in clocks.notes[0]
    assert clocks.year_refs["a/ha-log.txt"] == datetime(2023, 8, 1, 9, 0, 0)


def test_dlm_walltime_dates_a_bundle_of_syslog_only() -> None:
    merge = _ev("a/ha-log.txt", datetime(2000, 7, 19, 17, 22, 45), YEAR_MISSING)
    status = _ev("a/ha-log.txt", datetime(2000, 7, 19, 17, 22, 58), YEAR_MISSING,
                 walltime=1721409778)  # 2024-07-19 17:22:58 UTC
    infer_years([merge, status], {}, Clocks())
    assert merge.local_time is not None and merge.local_time.year == 2024


def test_without_dated_lines_the_file_time_decides_and_december_stays_last_year() -> None:
    december = _ev("a/messages", datetime(2000, 12, 31, 23, 0), YEAR_MISSING)
    january = _ev("a/messages", datetime(2000, 1, 2, 1, 0), YEAR_MISSING)
    clocks = Clocks()
    infer_years([december, january], {"a/messages": datetime(2025, 1, 3, tzinfo=UTC)}, clocks)
    assert december.local_time == datetime(2024, 12, 31, 23, 0)
    assert january.local_time == datetime(2025, 1, 2, 1, 0)
    assert "modification time" in clocks.notes[0]
    assert with_year(datetime(2000, 2, 29), datetime(2025, 3, 1)) == datetime(2024, 2, 29)


def test_dump_lines_are_placed_with_the_host_s_boot_time() -> None:
    syslog = _ev("host-a/ha-log.txt", datetime(2024, 7, 19, 17, 22, 45), monotime=8841,
                 origin_host="host-a")
    dump = _ev("host-a/dlm_dump.txt", None, monotime=8830)
    other = _ev("host-b/dlm_dump.txt", None, host="host-b", monotime=100)
    clocks = Clocks()
    align_boot_clocks([syslog, dump, other], clocks)
    assert dump.local_time == datetime(2024, 7, 19, 17, 22, 34)
    assert other.local_time is None  # no syslog line of host-b: left off the timeline
    assert any("host-b" in n and "not on the timeline" in n for n in clocks.notes)
