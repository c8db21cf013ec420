"""Ingest stage: cut one large plain file into segments that workers scan on their own.

A cut is placed at the start of a record (a line with the format's start shape), so no
record straddles two segments, and never before a record that would only be kept as an
attachment of the one before it (a DETAIL line after an ERROR): such a record needs to know
whether its predecessor was kept; nor before a record that may continue a group of records
(``ingest/grouping.py``: a row of cm_server's RHB matrix). With those rules a segment scans
exactly as the same bytes do inside the whole file; only its line numbers are relative (the
merge shifts them).
Compressed files and archive members have no random access and are never cut.
"""

from __future__ import annotations

from dataclasses import dataclass

from reformdiag.ingest.discover import Source
from reformdiag.ingest.scan import ScanPlan

SEGMENT = 32 * 1024 * 1024  # target size of a segment
WINDOW = 1024 * 1024  # bytes read at each cut to find a record start


@dataclass(frozen=True, slots=True)
class Segment:
    start: int  # byte offsets in the file; start is 0 or a record start
    end: int


def splittable(source: Source, size: int = SEGMENT) -> bool:
    """Worth cutting: a plain file of at least two segments."""
    return not source.hops and source.compression is None and source.size >= 2 * size


def segments(source: Source, plan: ScanPlan, size: int = SEGMENT) -> list[Segment]:
    """Cut ``source`` about every ``size`` bytes at a safe record start. May raise OSError."""
    cuts = [0]
    with open(source.path, "rb") as handle:
        total = handle.seek(0, 2)
        at = size
        while at < total - size // 2:  # no crumb of a segment at the end
            handle.seek(at)
            window = handle.read(WINDOW)
            cut = _safe_record_start(window, plan)
            if cut is not None:
                cuts.append(at + cut)
            at = (cuts[-1] if cut is not None else at) + size
    cuts.append(total)
    return [Segment(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


def _safe_record_start(window: bytes, plan: ScanPlan) -> int | None:
    """Offset in ``window`` of the first record start whose whole record is inside the window
    and is not attach-only; None when there is none (the cut is skipped)."""
    pos = window.find(b"\n") + 1  # the window may start inside a line
    if pos == 0:
        return None
    record = None  # start of the record being read
    while True:
        nl = window.find(b"\n", pos)
        if nl < 0:
            return None  # the record goes on past the window: do not cut here
        if plan.is_record_start(window[pos:nl + 1]):
            if record is not None:
                text = window[record:pos]
                keep, attach = plan.classify(text)
                if (keep or not attach) and not (plan.group and plan.group.continues(text)):
                    return record
            record = pos
        pos = nl + 1
