"""Timeline stage: complete the clocks that are not full wall-clock times.

* RFC 3164 syslog stamps (corosync, dlm_controld, pacemaker) carry no year. A line gets the
  year that puts it at or before the bundle's reference time: the latest dated time in the
  bundle (a dated log, or Unix seconds a line prints as its ``walltime``, as dlm_controld's
  ``fence status`` does), else the file's modification time, else today. The note says which.
* ``dlm_tool dump`` prints seconds since boot (CLOCK_MONOTONIC) only. dlm_controld's syslog
  lines print a wall-clock stamp *and* the same seconds since boot (``monotime``), so their
  difference is the host's boot time, and the dump's lines are placed with it. A host without
  such a line keeps its dump off the timeline, and the note says so.

Both run before time zones are applied (``clock.normalise_times``): they only fill
``Event.local_time``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from reformdiag.model import Event
from reformdiag.parse.timestamps import YEAR_MISSING
from reformdiag.timeline.clock import unix_time

# A year-less line later than the reference by more than this belongs to the year before.
_AHEAD = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1)  # naive: boot times are local wall-clock times


@dataclass
class Clocks:
    """What was learnt, so that a second pass over the files (``timeline --all``) agrees."""

    year_refs: dict[str, datetime] = field(default_factory=dict)  # file -> reference time
    boots: dict[str, datetime] = field(default_factory=dict)  # host -> boot time (local)
    notes: list[str] = field(default_factory=list)


def with_year(moment: datetime, ref: datetime) -> datetime:
    """The placeholder-year ``moment`` in the year that puts it at or before ``ref``.

    >>> with_year(datetime(2000, 12, 31, 23, 0), datetime(2024, 1, 2))
    datetime.datetime(2023, 12, 31, 23, 0)
    """
    for year in (ref.year, ref.year - 1, ref.year - 2, ref.year - 3, ref.year - 4):
        try:
            candidate = moment.replace(year=year)
        except ValueError:  # 29 February in a common year
            continue
        if candidate - ref <= _AHEAD:  # not ref + _AHEAD: a ref on 9999-12-31 has no next day
            return candidate
    return moment


def infer_years(events: list[Event], saved_at: dict[str, datetime], clocks: Clocks) -> None:
    """Give every year-less local time its year (see the module docstring)."""
    yearless = [e for e in events if e.local_time is not None and e.time_note == YEAR_MISSING]
    if not yearless:
        return
    dated = [e.local_time for e in events
             if e.local_time is not None and e.time_note != YEAR_MISSING]
    dated += [moment.replace(tzinfo=None) for e in events
              if isinstance(e.fields.get("walltime"), int)
              and (moment := unix_time(e.fields["walltime"])) is not None]
    bundle_ref = max(dated) if dated else None
    whence = "the latest dated time in the bundle"
    for ev in yearless:
        ref = bundle_ref
        if ref is None:
            saved = saved_at.get(ev.file)
            ref = saved.replace(tzinfo=None) if saved else datetime.now(UTC).replace(tzinfo=None)
            whence = "the files' modification time" if saved else "today's date"
        clocks.year_refs.setdefault(ev.file, ref)
        assert ev.local_time is not None
        ev.local_time = with_year(ev.local_time, ref)
        ev.time_note = f"year not in the log: {ev.local_time.year}, from {whence}"
    years = sorted({e.local_time.year for e in yearless if e.local_time})
    clocks.notes.append(f"syslog-style lines print no year: read as {', '.join(map(str, years))}"
                        f", from {whence}")


def _plus(moment: datetime, seconds: int) -> datetime | None:
    """``moment`` + ``seconds``, or None off the calendar: a damaged seconds-since-boot
    (``999999999999999999``) leaves its line unplaced instead of stopping the analysis."""
    try:
        return moment + timedelta(seconds=seconds)
    except OverflowError:
        return None


def _host(ev: Event) -> str:
    return str(ev.fields.get("origin_host") or ev.host or ev.file)


def align_boot_clocks(events: list[Event], clocks: Clocks) -> None:
    """Place lines that print only seconds since boot, per host (see the module docstring)."""
    relative = [e for e in events if e.local_time is None and isinstance(e.fields.get("monotime"),
                                                                          int)]
    if not relative:
        return
    offsets: dict[str, list[float]] = {}
    for ev in events:
        mono = ev.fields.get("monotime")
        if ev.local_time is not None and isinstance(mono, int):
            boot = _plus(ev.local_time, -mono)
            if boot is not None:
                offsets.setdefault(_host(ev), []).append((boot - _EPOCH).total_seconds())
    from statistics import median  # 6 ms to import, for bundles with boot-relative clocks

    for host, values in offsets.items():
        clocks.boots[host] = _EPOCH + timedelta(seconds=median(values))
    unplaced: set[str] = set()
    for ev in relative:
        boot = clocks.boots.get(_host(ev))
        if boot is None:
            unplaced.add(_host(ev))
            continue
        moment = _plus(boot, ev.fields["monotime"])
        if moment is None:  # a damaged count: this line alone stays off the timeline
            continue
        ev.local_time = moment
        ev.time_note = "seconds since boot, placed with the host's dlm_controld syslog lines"
    placed = sorted({_host(e) for e in relative} - unplaced)
    if placed:
        clocks.notes.append(f"{', '.join(placed)}: seconds-since-boot lines (dlm_tool dump) "
                            "placed with the boot time their dlm_controld syslog lines give")
    if unplaced:
        clocks.notes.append(f"{', '.join(sorted(unplaced))}: seconds-since-boot lines (dlm_tool "
                            "dump) not on the timeline: no dlm_controld syslog line of the host "
                            "gives its boot time")


def place(ev: Event, clocks: Clocks) -> None:
    """Apply what ``clocks`` learnt to one event of a second pass (``timeline --all``)."""
    if ev.local_time is not None and ev.time_note == YEAR_MISSING and ev.file in clocks.year_refs:
        ev.local_time = with_year(ev.local_time, clocks.year_refs[ev.file])
    mono = ev.fields.get("monotime")
    if ev.local_time is None and isinstance(mono, int) and _host(ev) in clocks.boots:
        ev.local_time = _plus(clocks.boots[_host(ev)], mono)
