"""Ingest stage: kept records that one call wrote as several log lines, joined into one.

cm_server prints its RHB heartbeat matrix as ``Network timeout:``, ``Network base_time:`` and
one ``[RHB] hb infos: |...|`` line per node, each with the full line prefix (templates.md
T162-T164). Read line by line, a print is five records, five Lark parses and five events, and
at 1 GB two thirds of all events are such lines. A format's ``group`` spec says which records
continue the one before them; joined, a print is one record whose later lines are continuation
lines (Lark reads each as one token), one event whose message holds the whole print.

The join works on the kept records (bytes) between stage one and stage two, so stage one's
line pass is unchanged: a joined record counts its later record starts as continuation lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from reformdiag.ingest.scan import MAX_RECORD, KeptRecord

MAX_PARTS = 256  # records in one group at most (a matrix has a row per node, plus two)


@dataclass(frozen=True, slots=True)
class RecordGroup:
    """When a kept record continues the kept record just before it.

    ``first``: phrases of a record that may open a group; ``next``: phrases of a record that
    continues one; ``same``: a regex on each record's first line whose groups (or whole match)
    must be equal (the same second and thread; a group that did not take part matches any),
    so that another call's lines never join.
    """

    first: tuple[bytes, ...]
    next: tuple[bytes, ...]
    same: re.Pattern[bytes]

    def continues(self, text: bytes) -> bool:
        """May ``text`` continue a group? (``ingest.split`` never cuts before such a record.)"""
        return any(p in text for p in self.next)

    def opens(self, text: bytes) -> bool:
        return any(p in text for p in self.first)

    def key(self, text: bytes) -> object:
        m = self.same.match(text)
        if m is None:
            return None
        return m.groups() or m.group()


@dataclass(slots=True)
class JoinedRecord(KeptRecord):
    """A kept record made of several: ``parts`` are the records as stage one cut them (when
    the joined text does not parse, its head is read alone and the rest joined again)."""

    parts: list[KeptRecord] = field(default_factory=list)


def join_records(records: Iterable[KeptRecord], group: RecordGroup | None
                 ) -> Iterator[KeptRecord]:
    """``records`` with each run of records that continue the one before joined into one.

    A record joins when it holds a ``next`` phrase, starts on the line right after the group
    so far, and has the group's ``same`` key; the group must have opened with a ``first``
    phrase. Records that are not joined pass through unchanged (the same objects).
    """
    if group is None:
        yield from records
        return
    head: KeptRecord | None = None
    parts: list[KeptRecord] = []
    key: object = None
    end = size = 0  # the line after the group so far, and its bytes
    for rec in records:
        if (head is not None and rec.line == end and not rec.attach and key is not None
                and len(parts) < MAX_PARTS and size + len(rec.text) < MAX_RECORD
                and group.continues(rec.text) and _same(group.key(rec.text), key)):
            if not parts:
                parts.append(head)
            parts.append(rec)
            end += rec.n_lines
            size += len(rec.text) + 1
            continue
        if head is not None:
            yield _joined(head, parts)
        head, parts, end, size = rec, [], rec.line + rec.n_lines, len(rec.text)
        key = group.key(rec.text) if group.opens(rec.text) else None
    if head is not None:
        yield _joined(head, parts)


def _same(a: object, b: object) -> bool:
    """Equal keys; a part missing from one of them (a line whose timestamp was cut off in a
    published log: ``tid=5045 MaxClusterAb LOG: ...``) matches anything."""
    if a is None or b is None:
        return False
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
        return all(x == y or x is None or y is None for x, y in zip(a, b, strict=True))
    return a == b


def _joined(head: KeptRecord, parts: list[KeptRecord]) -> KeptRecord:
    if not parts:
        return head
    text = b"\n".join(p.text for p in parts)
    return JoinedRecord(line=head.line, text=text, n_lines=sum(p.n_lines for p in parts),
                        attach=head.attach, parts=parts)
