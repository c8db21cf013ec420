"""Ingest stage: the line pass of stage one. Reads the lines of a chunk and says which start a
record (one of the format's start shapes), which continue one, and which are orphans (the
line accounting), as a few arrays: no Python object per line.

A line that starts no record continues the record before it: any such line, or with
``continuation: indented`` only a blank or indented one. Before the first record of a file a
continuation line has nothing to continue: it is an orphan too (blank lines excepted).

Two ways, same answers (tested):

* compiled (``_linescan.c``, built when the package is installed with a C compiler): one pass
  over the bytes, 16 at a time for the newlines, the shapes checked on 8-byte words at each
  line start. Per 4 MiB of pg_log: 0.4 ms against 1.0 ms (measured, docs/PERFORMANCE.md);
  and numpy, 0.08 s to import and 16 MB of memory in every process, is then never loaded.
* numpy, the fallback (imported only then): ``flatnonzero(buf == '\\n')``, the shapes on
  every line start at once (``shapes``), the first byte of the lines that start no record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reformdiag.ingest.shapes import StartShapes

if TYPE_CHECKING:
    import numpy as np

ABI = 2  # the calling convention of scan_lines this code expects (see _linescan.c)
try:  # built by hatch_build.py; absent without a compiler (or on another interpreter)
    import _reformdiag_linescan as _linescan
except ImportError:  # pragma: no cover - depends on the install
    _linescan = None
if _linescan is not None and getattr(_linescan, "ABI", None) != ABI:  # pragma: no cover
    _linescan = None  # a stale build of another version: numpy rather than a wrong call

NO_PREFIX, BEFORE_FIRST_RECORD = 1, 2  # why a line is an orphan
NEWLINE_BLOCK = 1 << 20
# Lines per pass. The arrays of a pass cost up to ~40 bytes a line: a 4 MiB chunk of blank
# lines would otherwise need ~250 MB (measured: 296 MB peak on 50 MB of blank lines). Logs
# average 100-200 bytes a line, so a chunk of them is one pass.
MAX_LINES = 1 << 16
LONG_LINE = 1024 * 1024  # lines longer than this are counted (the reader cuts them)


@dataclass(slots=True)
class LineTable:
    """The lines of one pass. Offsets are byte offsets into the pass's buffer, line numbers
    0-based within it; each sequence is sorted."""

    used: int  # bytes of the buffer these lines cover
    lines: int
    long_lines: int  # lines longer than LONG_LINE bytes, newline excluded
    rec_offsets: Sequence[int]  # where each record starts...
    rec_lines: Sequence[int]  # ...and on which line
    orphan_offsets: Sequence[int]  # each orphan line: start, end (newline included), line,
    orphan_ends: Sequence[int]
    orphan_lines: Sequence[int]
    orphan_reasons: Sequence[int]  # and why (NO_PREFIX, BEFORE_FIRST_RECORD)


def compiled_available() -> bool:
    return _linescan is not None


def resolve(way: str) -> str:
    """``auto`` -> ``compiled`` when built, else ``numpy``."""
    if way == "auto":
        return "compiled" if _linescan is not None else "numpy"
    if way == "compiled" and _linescan is None:
        raise RuntimeError("the compiled line pass was not built (no C compiler at install?)")
    if way not in ("compiled", "numpy"):
        raise ValueError(f"unknown line pass {way!r}: auto, compiled or numpy")
    return way


class LinePass:
    """``run(buf, seen_record)`` -> the :class:`LineTable` of at most ``MAX_LINES`` lines from
    the start of ``buf`` (``used`` says how far it got; the caller goes on from there).
    ``seen_record``: whether a record started earlier in the file."""

    def __init__(self, shapes: StartShapes, indented: bool, way: str = "auto") -> None:
        self.shapes = shapes
        self.indented = indented
        self.way = resolve(way)

    def scratch(self) -> np.ndarray | None:
        """A buffer for the numpy way, to reuse across the chunks of one file (fresh pages
        cost more than the comparison, measured)."""
        if self.way != "numpy":
            return None
        import numpy as np

        return np.empty(NEWLINE_BLOCK, dtype=bool)

    def run(self, buf: memoryview | bytes, seen_record: bool,
            scratch: np.ndarray | None = None, max_lines: int | None = None) -> LineTable:
        max_lines = max_lines or MAX_LINES
        if self.way == "compiled":
            used, lines, long_lines, *arrays = _linescan.scan_lines(  # type: ignore[union-attr]
                buf, self.shapes.shapes, max_lines, self.indented, seen_record, LONG_LINE)
            rec_off, rec_line, orph_off, orph_end, orph_line, reasons = arrays
            return LineTable(used, lines, long_lines, _ints(rec_off), _ints(rec_line),
                             _ints(orph_off), _ints(orph_end), _ints(orph_line), reasons)
        return _run_numpy(self, buf, seen_record, scratch, max_lines)


def _ints(raw: bytes) -> memoryview:
    return memoryview(raw).cast("q")


def _run_numpy(lp: LinePass, buf: memoryview | bytes, seen_record: bool,
               scratch: np.ndarray | None, max_lines: int) -> LineTable:
    import numpy as np

    if scratch is None:
        scratch = np.empty(NEWLINE_BLOCK, dtype=bool)
    arr = np.frombuffer(buf, dtype=np.uint8)
    nl = _newlines(arr, scratch, max_lines)
    if len(nl) >= max_lines:  # stop after the max_lines-th line
        nl = nl[:max_lines]
        buf, arr = buf[: int(nl[-1]) + 1], arr[: int(nl[-1]) + 1]
    size = len(buf)
    n = len(nl) + (0 if len(nl) and nl[-1] == size - 1 else 1) if size else 0
    empty = memoryview(b"").cast("q")
    if not n:
        return LineTable(0, 0, 0, empty, empty, empty, empty, empty, b"")
    starts = np.empty(n, dtype=np.int64)
    starts[0] = 0
    starts[1:] = nl[: n - 1] + 1
    ends = np.empty(n, dtype=np.int64)
    ends[:-1] = starts[1:]
    ends[-1] = size
    lengths = ends - starts  # newline included
    content = lengths - (arr[ends - 1] == 10)
    is_start = lp.shapes.match(buf, starts, lengths)
    rec_lines = np.flatnonzero(is_start)
    first_start = int(rec_lines[0]) if len(rec_lines) else n
    others = np.flatnonzero(~is_start)
    blank = content[others] == 0
    if lp.indented:
        first = arr[starts[others]]
        cont = blank | (first == 9) | (first == 32)
    else:
        cont = np.ones(len(others), dtype=bool)
    reasons = np.where(cont, 0, NO_PREFIX).astype(np.uint8)
    if not seen_record:  # continuation lines before any record of the file
        reasons[cont & (others < first_start) & ~blank] = BEFORE_FIRST_RECORD
    orphan = reasons != 0
    orphans = others[orphan]
    return LineTable(size, n, int((content > LONG_LINE).sum()),
                     _view(starts[rec_lines]), _view(rec_lines), _view(starts[orphans]),
                     _view(ends[orphans]), _view(orphans), reasons[orphan].tobytes())


def _view(values: np.ndarray) -> memoryview:
    return memoryview(values.astype("int64", copy=False).tobytes()).cast("q")


def _newlines(arr: np.ndarray, scratch: np.ndarray, enough: int) -> np.ndarray:
    """Offsets of the newlines, found 1 MiB at a time into one reused scratch array (a
    chunk-sized one would cost a chunk's worth of memory for nothing; a fresh one, time),
    until there are ``enough``."""
    import numpy as np

    parts, found_so_far = [], 0
    for start in range(0, len(arr), NEWLINE_BLOCK):
        if found_so_far >= enough:
            break
        part = arr[start:start + NEWLINE_BLOCK]
        eq = scratch[:len(part)]
        np.equal(part, 10, out=eq)
        found = np.flatnonzero(eq)
        if start:
            found += start
        parts.append(found)
        found_so_far += len(found)
    if not parts:
        return np.zeros(0, dtype=np.int64)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)
