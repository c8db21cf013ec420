"""Ingest stage: rotated segments of one log, copies and overlaps, so nothing counts twice.

One log is written as segments (``shared/reference/opengauss/formats.md`` 1.1, 2.3, 3.1):

* pg_log: ``postgresql-<%Y-%m-%d_%H%M%S>.log``, a new file per rotation;
* DMS/DSS (CBB): ``dms.rlog`` is current, backups are ``dms_<yyyymmddhhmissfff>.rlog`` (or
  ``dms_<yyyy-mm-dd_hhmissfff>.rlog``, maybe ``.gz``), or ``dms.rlog.N`` after logrotate;
* CM: ``cm_agent-<time>-current.log`` is current, rotated ones are ``cm_agent-<time>.log`` and
  later ``.log.gz``.

Bundles repeat content: a file copied twice, a log both in an archive and unpacked beside it,
two copies of a growing log taken minutes apart, or a backup whose head repeats the tail of the
segment before it. Every analysed file is a segment of the log of its host, instance and source
(one writer each: the postmaster, DMS, cm_agent...), whatever its name; the segments are put in
time order (first timestamp, then the rotation order of their names, :func:`family`), and

* a file with exactly the same content as another (same format, line count and time span,
  then the same digest) is counted once: the copy with the most identity (host, instance,
  outside an archive, then the name) is kept;
* of two segments whose time spans overlap, one whose lines all appear in the other is
  counted once, and when the head of the later repeats the tail of the earlier, the repeated
  lines' events are dropped from the later.

Each decision is a note on the file it affects. Content is only read again for files that
share a span (rare), never for a bundle without repeats.
"""

from __future__ import annotations

import hashlib
import re
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from reformdiag.ingest.discover import Source
from reformdiag.ingest.identity import path_hints
from reformdiag.ingest.reader import ReadStats, read_chunks
from reformdiag.model import Event, FileReport

_STAMPED = re.compile(r"^(?P<stem>.+?)-(?P<ts>\d{4}-\d\d-\d\d_\d{6})(?P<current>-current)?"
                      r"(?P<ext>\.\w+)$")
_BACKUP = re.compile(r"^(?P<stem>.+?)_(?P<ts>\d{17}|\d{4}-\d\d-\d\d_\d{9})(?P<ext>\.\w+)$")
_NUMBERED = re.compile(r"^(?P<base>.+\.\w+)\.(?P<n>\d{1,4})$")


def family(name: str) -> tuple[str, tuple[int, str]]:
    """The log a file name is a segment of, and its place in the rotation (older first).

    >>> family("postgresql-2024-07-25_084107.log")
    ('postgresql-*.log', (1, '2024-07-25_084107'))
    >>> family("dms_20240919171437353.rlog"), family("dms.rlog")
    (('dms.rlog', (1, '20240919171437353')), ('dms.rlog', (2, '')))
    >>> family("cm_agent-2024-07-25_083955-current.log")[0], family("dms.rlog.2")
    ('cm_agent-*.log', ('dms.rlog', (0, '9997')))
    """
    m = _STAMPED.match(name)
    if m:
        return f"{m['stem']}-*{m['ext']}", (1, m["ts"] + ("~" if m["current"] else ""))
    m = _BACKUP.match(name)
    if m:
        return f"{m['stem']}{m['ext']}", (1, re.sub(r"\D", "", m["ts"]))
    m = _NUMBERED.match(name)
    if m:  # logrotate: .1 is the newest backup, so a higher number is older
        return m["base"], (0, f"{9999 - int(m['n']):04d}")
    return name, (2, "")


@dataclass(slots=True, eq=False)
class _Segment:
    source: Source
    report: FileReport
    events: list[Event]
    host: str | None
    dn: int | None

    @property
    def display(self) -> str:
        return self.source.display

    def keep_rank(self) -> tuple[object, ...]:
        """Which of two copies is kept: the one that says most about its node."""
        return (self.host is None, self.dn is None, self.source.in_archive, self.display)

    def order(self) -> tuple[object, ...]:
        name_key = family(self.source.name)[1]
        return (self.report.first is None, self.report.first or 0, name_key, self.display)


class Repeats(NamedTuple):
    events: set[int]  # id() of the events that must not be counted again
    copies: dict[str, str]  # a file with the same content as another -> that other one


def find_repeats(files: Iterable[tuple[Source, FileReport, list[Event]]]) -> Repeats:
    """Note every repeated file or segment on its report (see the module docstring)."""
    segments = []
    for source, report, events in files:
        if report.status != "analysed" or report.lines == 0:
            continue
        hints = path_hints(source.parts)
        segments.append(_Segment(source, report, events, hints.host, hints.dn_instance))
    dropped: set[int] = set()
    originals: dict[str, str] = {}
    gone = _copies(segments, dropped, originals)
    _overlaps(segments, dropped, gone)
    return Repeats(dropped, originals)


def _digest(source: Source) -> bytes | None:
    digest = hashlib.blake2b(digest_size=20)
    try:
        for chunk in read_chunks(source, ReadStats()):
            digest.update(chunk)
    except Exception:  # noqa: BLE001 - unreadable now: no decision is made on it
        return None
    return digest.digest()


def _drop(seg: _Segment, dropped: set[int], note: str, upto: int | None = None) -> None:
    n = 0
    for ev in seg.events:
        if upto is None or ev.line <= upto:
            dropped.add(id(ev))
            n += 1
    seg.report.events = max(0, seg.report.events - n)
    seg.report.notes.append(note)


def _copies(segments: list[_Segment], dropped: set[int], originals: dict[str, str]
            ) -> dict[str, list[_Segment]]:
    """Exact copies: same format, lines and span first (cheap), then the same digest.
    ``originals`` gets copy -> the file kept in its place (a file given twice aside)."""
    by_shape: dict[tuple[object, ...], list[_Segment]] = {}
    for seg in segments:
        r = seg.report
        by_shape.setdefault((r.format, r.lines, r.first, r.last), []).append(seg)
    gone: dict[str, list[_Segment]] = {}
    for group in by_shape.values():
        if len(group) < 2:
            continue
        by_digest: dict[bytes, list[_Segment]] = {}
        for seg in group:
            digest = _digest(seg.source)
            if digest is not None:
                by_digest.setdefault(digest, []).append(seg)
        for same in by_digest.values():
            if len(same) < 2:
                continue
            same.sort(key=_Segment.keep_rank)
            kept = same[0]
            for seg in same[1:]:
                what = ("given twice" if seg.display == kept.display
                        else f"same content as {kept.display}")
                _drop(seg, dropped, f"{what}: its lines are counted once, there")
                gone.setdefault(seg.display, []).append(seg)
                if seg.display != kept.display:
                    originals[seg.display] = kept.display
    return gone


def _line_hashes(source: Source) -> array[int]:
    """One hash per complete line (a line cut by a truncated copy is left out, so a
    half-copied segment still matches the lines of the whole one). 8 bytes a line."""
    out: array[int] = array("q")
    cut = False
    for chunk in read_chunks(source, ReadStats()):
        data = bytes(chunk)
        lines = data.split(b"\n")
        cut = not data.endswith(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        out.extend(hash(line.rstrip(b"\r")) for line in lines)
    if cut and out:
        out.pop()
    return out


def _first_line(source: Source) -> bytes | None:
    """The first line of a file (without its end), None when it is empty or longer than the
    first read."""
    for chunk in read_chunks(source, ReadStats()):
        end = bytes(chunk[:1 << 16]).find(b"\n")
        return bytes(chunk[:end]).rstrip(b"\r") if end > 0 else None
    return None


def _has_line(source: Source, line: bytes) -> bool:
    """Whether ``line`` is one of the lines of ``source``: a bytes search over its reads, no
    work per line (a line ``line`` followed by ``\r`` counts: the hashes strip it)."""
    needle = b"\n" + line
    n = len(needle)
    tail = b"\n"  # the last bytes read before (the file's start is a line start)
    for chunk in read_chunks(source, ReadStats()):
        data = bytes(chunk)
        # a line cut by the read: only where it starts in the bytes read before
        if _ends_a_line(tail + data[:n], needle, len(tail)) or _ends_a_line(data, needle):
            return True
        tail = (tail + data)[-n:] if len(data) < n else data[-n:]
    return tail == needle  # the last line, with no end


def _ends_a_line(data: bytes, needle: bytes, before: int | None = None) -> bool:
    """``needle`` in ``data`` followed by a line end (``\r`` or ``\n``), starting before
    ``before`` if given (an occurrence that reaches the end of ``data`` is left undecided)."""
    at = data.find(needle, 0, None if before is None else before + len(needle))
    while at >= 0:
        end = at + len(needle)
        if end < len(data) and data[end] in b"\r\n":
            return True
        at = data.find(needle, at + 1, None if before is None else before + len(needle))
    return False


def _may_overlap(a: Source, b: Source) -> bool:
    """False when two files cannot share a run of lines: neither's first line is a line of
    the other (``_overlap`` starts from one of them). Two hosts' logs of the same hours, in a
    bundle whose folders do not say the host, then cost two byte searches, not a hash of
    every line of both."""
    first_a, first_b = _first_line(a), _first_line(b)
    if not first_a or not first_b:  # no usable first line: hash them
        return True
    return _has_line(a, first_b) or _has_line(b, first_a)


def _find(seq: array[int], item: int) -> Iterable[int]:
    start = 0
    while True:
        try:
            j = seq.index(item, start)
        except ValueError:
            return
        yield j
        start = j + 1


def _overlap(a: array[int], b: array[int]) -> tuple[str, int] | None:
    """How ``b`` repeats ``a``: ('b in a', j) its lines are a's from j; ('a in b', i) the other
    way round; ('tail', k) b's first k lines are a's last k lines; None if they do not."""
    if not a or not b:
        return None
    for j in _find(a, b[0]):
        if a[j:j + len(b)] == b:
            return "b in a", j
        if a[j:] == b[: len(a) - j]:
            return "tail", len(a) - j
    for i in _find(b, a[0]):
        if b[i:i + len(a)] == a:
            return "a in b", i
    return None


def _overlaps(segments: list[_Segment], dropped: set[int],
              gone: dict[str, list[_Segment]]) -> None:
    """Segments of one log whose spans overlap: repeated lines are counted once."""
    logs: dict[tuple[object, ...], list[_Segment]] = {}
    for seg in segments:
        if any(seg is g for g in gone.get(seg.display, [])):
            continue
        key = (seg.host, seg.dn, seg.report.format)
        logs.setdefault(key, []).append(seg)
    for group in logs.values():
        if len(group) < 2:
            continue
        group.sort(key=_Segment.order)
        earlier = group[0]
        ha: array[int] | None = None  # the hashes of ``earlier``, once read
        for later in group[1:]:
            a, b = earlier.report, later.report
            if not (a.first and a.last and b.first and b.last) or b.first > a.last:
                earlier, ha = later, None
                continue
            try:
                if not _may_overlap(earlier.source, later.source):
                    earlier, ha = later, None
                    continue
                ha = _line_hashes(earlier.source) if ha is None else ha
                hb = _line_hashes(later.source)
            except Exception:  # noqa: BLE001 - unreadable now: no decision is made on it
                earlier, ha = later, None
                continue
            found = _overlap(ha, hb)
            if found is None:
                earlier, ha = later, hb
                continue
            how, n = found
            if how == "b in a":
                _drop(later, dropped, f"all its {len(hb)} lines are also lines {n + 1}-"
                                      f"{n + len(hb)} of {earlier.display}: counted once, there")
                continue  # the earlier segment stays the reference for the next one
            if how == "a in b":
                _drop(earlier, dropped, f"all its {len(ha)} lines are also lines {n + 1}-"
                                        f"{n + len(ha)} of {later.display}: counted once, there")
            else:
                _drop(later, dropped, f"its first {n} lines repeat the last {n} lines of "
                                      f"{earlier.display}: counted once, there", upto=n)
            earlier, ha = later, hb
