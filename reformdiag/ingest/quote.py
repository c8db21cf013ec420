"""Ingest stage: read chosen lines of a file again, for the evidence a report quotes.

Kept events do not carry their raw text (it was ~20% of an event's memory and of what workers
send back): a finding quotes a few dozen lines at most, and reading them again costs one pass
over the files they are in, through the same reader as stage one, so the line numbers agree.
"""

from __future__ import annotations

from collections.abc import Iterable

from reformdiag.ingest.discover import Source
from reformdiag.ingest.reader import ReadStats, read_chunks


def quote_lines(source: Source, wanted: Iterable[int]) -> dict[int, bytes]:
    """The bytes of the wanted physical lines (1-based, newline stripped) that still exist.

    Stops after the last wanted line. Raises what reading raises (OSError, InputError): the
    caller falls back to the parsed message.
    """
    todo = sorted({n for n in wanted if n >= 1})
    out: dict[int, bytes] = {}
    if not todo:
        return out
    i, first = 0, 1  # ``first``: number of the chunk's first line
    for chunk in read_chunks(source, ReadStats()):
        data = bytes(chunk)  # the reader reuses its buffer: copy out before the next chunk
        n_lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        last = first + n_lines - 1
        pos, line = 0, first
        while i < len(todo) and todo[i] <= last:
            while line < todo[i]:  # few wanted lines: walking to them with find is enough
                pos = data.index(b"\n", pos) + 1
                line += 1
            end = data.find(b"\n", pos)
            out[todo[i]] = data[pos:end if end >= 0 else len(data)].rstrip(b"\r")
            i += 1
        if i >= len(todo):
            break
        first = last + 1
    return out
