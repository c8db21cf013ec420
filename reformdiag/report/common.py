"""Report stage: small helpers every renderer shares."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from reformdiag.model import Event, FileReport
from reformdiag.timeline.clock import fmt_offset, stamp


def iso(moment: datetime | None) -> str | None:
    """UTC time as ISO 8601 with milliseconds and a Z."""
    if moment is None:
        return None
    return f"{stamp(moment, 'T')}.{moment.microsecond // 1000:03d}Z"


def short_time(moment: datetime | None) -> str:
    if moment is None:
        return "?"
    return f"{stamp(moment)}.{moment.microsecond // 1000:03d}"


def duration(seconds: float) -> str:
    """How long, in the unit a reader thinks in: ``8.2 s``, ``55 s``, ``3 min``, ``5.1 h``,
    ``2.2 days``."""
    if seconds < 10:
        return f"{seconds:.3g} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def local_iso(moment: datetime | None) -> str | None:
    return moment.isoformat(sep=" ", timespec="milliseconds") if moment else None


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return iso(value) if value.tzinfo else local_iso(value)
    return value


def input_dict(r: FileReport) -> dict[str, Any]:
    return {
        "path": r.path, "status": r.status, "reason": r.reason or None, "format": r.format,
        "system": r.system, "node": r.node, "host": r.host, "bytes": r.size, "lines": r.lines,
        "records": r.records, "continuation": r.continuation, "unparsed": r.unparsed,
        "events": r.events, "first": local_iso(r.first), "last": local_iso(r.last),
        "utc_offset": fmt_offset(r.utc_offset_min) if r.utc_offset_min is not None else None,
        "notes": r.notes,
    }


def event_dict(e: Event) -> dict[str, Any]:
    return {
        "time": iso(e.time), "node": e.node, "source": e.source, "level": e.level,
        "kind": e.kind, "message": e.message, "file": e.file, "line": e.line,
        "module": e.module or None, "fields": jsonable(e.fields),
        "time_note": e.time_note or None,
    }
