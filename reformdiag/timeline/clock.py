"""Timeline stage: turn every wall-clock time into UTC and say what was assumed.

DMS/DSS lines print their whole-hour offset (``UTC+8``). pg_log and CM print naive local
time: their offset comes from ``--tz`` if given, else from the DMS/DSS lines of the same host,
else from the bundle's other hosts, else UTC is assumed (and the report says so).
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

from reformdiag.errors import UsageError
from reformdiag.model import Event

_TZ = re.compile(r"^(?:UTC)?\s*([+-])(\d{1,2})(?::?(\d\d))?$")


def parse_tz(text: str) -> int:
    """``+08:00`` / ``UTC+8`` / ``-0330`` / ``UTC`` -> offset in minutes."""
    text = text.strip()
    if text.upper() in ("UTC", "Z", "GMT"):
        return 0
    m = _TZ.match(text)
    if not m:
        raise UsageError(f"cannot read time zone {text!r}", hint="use e.g. +08:00, UTC+8 or UTC")
    minutes = int(m.group(2)) * 60 + int(m.group(3) or 0)
    minutes = -minutes if m.group(1) == "-" else minutes
    if int(m.group(3) or 0) >= 60 or not -12 * 60 <= minutes <= 14 * 60:
        raise UsageError(f"no time zone is {text!r}",
                         hint="UTC offsets run from -12:00 to +14:00, e.g. +08:00")
    return minutes


def stamp(moment: datetime, sep: str = " ") -> str:
    """``2024-09-19 17:14:12``, the year always in four digits: ``strftime("%Y")`` writes year
    1 as ``1``, which no ISO 8601 reader (the report's own) takes back."""
    return f"{moment.year:04d}-{moment:%m-%d}{sep}{moment:%H:%M:%S}"


def fmt_offset(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


OUT_OF_RANGE = "time out of the calendar's range once moved to UTC"
# The times the timeline takes: the calendar (years 1 to 9999) less a year at each end, so
# that the windows of episodes, rules and reports (minutes, hours) never step off it.
EARLIEST = datetime(2, 1, 1, tzinfo=UTC)
LATEST = datetime(9998, 12, 31, tzinfo=UTC)


def shifted(moment: datetime, delta: timedelta) -> datetime | None:
    """``moment - delta`` as UTC, or None off the timeline's range (``EARLIEST``..``LATEST``):
    a zeroed or damaged timestamp (``0001-01-01 00:00:00`` with ``UTC+8``) must not stop the
    analysis; the event is placed by the records around it (``fill_missing_times``)."""
    try:
        utc = (moment - delta).replace(tzinfo=UTC)
    except OverflowError:
        return None
    return utc if EARLIEST <= utc <= LATEST else None


def unix_time(seconds: float) -> datetime | None:
    """Unix seconds as UTC, or None outside the platform's or the calendar's range (a line's
    damaged ``walltime``, an archive member's forged modification time)."""
    try:
        moment = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return moment if EARLIEST <= moment <= LATEST else None


def normalise_times(events: list[Event], tz_override: int | None) -> tuple[dict[str, int], list[str]]:
    """Set ``Event.time`` (UTC) on every event that has a wall-clock time.

    Returns the offset used per host and notes on what was assumed.
    """
    per_host: dict[str | None, Counter[int]] = {}
    for ev in events:
        if ev.utc_offset_min is not None:
            per_host.setdefault(ev.host, Counter())[ev.utc_offset_min] += 1
    bundle: Counter[int] = Counter()
    for counts in per_host.values():
        bundle.update(counts)
    # a zone learnt from one system's lines (openGauss DMS "UTC+8") says nothing about another
    # system's hosts in a mixed bundle
    offset_systems = {ev.system for ev in events if ev.utc_offset_min is not None}
    notes: list[str] = []
    used: dict[str, int] = {}
    assumed_hosts: set[str] = set()
    assumed_systems: set[str] = set()
    host_offset = {host: counts.most_common(1)[0][0] for host, counts in per_host.items()}
    bundle_offset = bundle.most_common(1)[0][0] if bundle else 0
    shift: dict[int, timedelta] = {}  # one timedelta per offset, not one per event
    last_local: datetime | None = None
    last_offset, last_time = 0, None
    for ev in events:
        if ev.local_time is None:
            continue
        if ev.utc_offset_min is not None:
            offset = ev.utc_offset_min
        elif tz_override is not None:
            offset = tz_override
            ev.time_note = ev.time_note or "time zone from --tz"
        elif ev.host in host_offset:
            offset = host_offset[ev.host]
        elif bundle and ev.system in offset_systems:
            offset = bundle_offset
            assumed_hosts.add(ev.host or ev.file)
        else:
            offset = 0
            assumed_hosts.add("*")
            assumed_systems.add(ev.system)
        if ev.local_time is last_local and offset == last_offset:
            ev.time = last_time  # same wall-clock object (one millisecond's lines): share it
        else:
            delta = shift.get(offset)
            if delta is None:
                delta = shift[offset] = timedelta(minutes=offset)
            ev.time = last_time = shifted(ev.local_time, delta)
            last_local, last_offset = ev.local_time, offset
        if ev.time is None:
            ev.time_note = OUT_OF_RANGE
        used[ev.host or "-"] = offset
    if tz_override is not None:
        notes.append(f"naive pg_log/CM times read as {fmt_offset(tz_override)} (--tz)")
    else:
        for host, counts in sorted(per_host.items(), key=lambda kv: str(kv[0])):
            notes.append(f"{host or 'files without a host'}: pg_log/CM times read as "
                         f"{fmt_offset(counts.most_common(1)[0][0])}, taken from its DMS/DSS lines")
        if "*" in assumed_hosts:
            where = ("the bundle" if not per_host else
                     f"the {', '.join(sorted(assumed_systems))} logs")
            notes.append(f"no time zone in {where}: naive times assumed to be UTC "
                         "(use --tz to set the cluster's zone)")
        borrowed = sorted(h for h in assumed_hosts if h and h != "*")
        if borrowed:
            notes.append(f"{', '.join(borrowed)}: no DMS/DSS lines "
                         f"of its own; time zone {fmt_offset(bundle.most_common(1)[0][0])} "
                         "taken from the other hosts")
    return used, notes


def fill_missing_times(events_by_file: dict[str, list[Event]], bundle_end: datetime | None,
                       saved_at: dict[str, datetime] | None = None) -> None:
    """Events without a time: inherit the previous record's time in the same file (cut
    timestamps); snapshots without a date sit at the end of the bundle, or, in a bundle with
    no other time at all, at the file's modification time."""
    for name, events in events_by_file.items():
        last: datetime | None = None
        for ev in events:
            if ev.time is not None:
                last = ev.time
                continue
            if ev.source == "cm_ctl_query":
                if bundle_end is not None:
                    ev.time = bundle_end
                    ev.time_note = "no date in the saved output: placed at the end of the logs"
                elif saved_at and name in saved_at:
                    ev.time = saved_at[name]
                    ev.time_note = "no date in the saved output: the file's modification time"
            elif last is not None:
                ev.time = last
                ev.time_note = f"{_why(ev)}: time of the record before it"
        # records before the first readable timestamp take the first one
        first = next((e.time for e in events if e.time is not None), None)
        for ev in events:
            if ev.time is not None:
                break
            if first is not None and ev.source != "cm_ctl_query":
                ev.time = first
                ev.time_note = f"{_why(ev)}: time of the first readable record after it"


def _why(ev: Event) -> str:
    return OUT_OF_RANGE if ev.time_note == OUT_OF_RANGE else "timestamp cut"
