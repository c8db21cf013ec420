"""Ingest stage: the line pass of stage one. Where every line of a chunk starts, and what
kind of line it is: a record start (one of the format's start shapes), blank or indented
(a continuation when the format says so), or anything else.

Two ways, same answers (tested):

* compiled (``_linescan.c``, built when the package is installed with a C compiler): one pass
  over the bytes, 16 at a time for the newlines, the shapes checked on 8-byte words at each
  line start. 0.3 against 1.0 ms per 4 MiB of pg_log (measured, docs/PERFORMANCE.md).
* numpy, the fallback: ``flatnonzero(buf == '\\n')``, then the shapes on every line start at
  once (``shapes``) and the first byte of the lines that start no record.
"""

from __future__ import annotations

import numpy as np

from reformdiag.ingest.shapes import StartShapes

ABI = 1  # the calling convention of scan_lines this code expects (see _linescan.c)
try:  # built by hatch_build.py; absent without a compiler (or on another interpreter)
    import _reformdiag_linescan as _linescan
except ImportError:  # pragma: no cover - depends on the install
    _linescan = None
if _linescan is not None and getattr(_linescan, "ABI", None) != ABI:  # pragma: no cover
    _linescan = None  # a stale build of another version: numpy rather than a wrong call

OTHER, START, INDENTED = 0, 1, 2  # INDENTED: blank, or starts with a tab or a space
NEWLINE_BLOCK = 1 << 20
# Lines per pass. The per-line arrays of a pass cost ~40 bytes a line: a 4 MiB chunk of blank
# lines would otherwise need ~250 MB (measured: 296 MB peak on 50 MB of blank lines). Logs
# average 100-200 bytes a line, so a chunk of them is one pass.
MAX_LINES = 1 << 16


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
    """``run(buf)`` -> (starts, kinds, used): the int64 offset of each line start of ``buf``
    and a uint8 kind per line, for at most ``max_lines`` lines, and the bytes those lines
    cover (``len(buf)`` when they are all of it). A line is the bytes up to and including a
    newline; a last line without one counts too."""

    def __init__(self, shapes: StartShapes, way: str = "auto") -> None:
        self.shapes = shapes
        self.way = resolve(way)

    def scratch(self) -> np.ndarray | None:
        """A buffer for the numpy way, to reuse across the chunks of one file (fresh pages
        cost more than the comparison, measured)."""
        return np.empty(NEWLINE_BLOCK, dtype=bool) if self.way == "numpy" else None

    def run(self, buf: memoryview | bytes, scratch: np.ndarray | None = None,
            max_lines: int | None = None) -> tuple[np.ndarray, np.ndarray, int]:
        max_lines = max_lines or MAX_LINES
        if self.way == "compiled":
            starts, kinds, used = _linescan.scan_lines(  # type: ignore[union-attr]
                buf, self.shapes.shapes, max_lines)
            return (np.frombuffer(starts, dtype=np.int64), np.frombuffer(kinds, dtype=np.uint8),
                    used)
        return self._run_numpy(buf, np.empty(NEWLINE_BLOCK, dtype=bool) if scratch is None
                               else scratch, max_lines)

    def _run_numpy(self, buf: memoryview | bytes, scratch: np.ndarray, max_lines: int
                   ) -> tuple[np.ndarray, np.ndarray, int]:
        arr = np.frombuffer(buf, dtype=np.uint8)
        nl = _newlines(arr, scratch, max_lines)
        if len(nl) >= max_lines:  # stop after the max_lines-th line
            nl = nl[:max_lines]
            buf, arr = buf[: int(nl[-1]) + 1], arr[: int(nl[-1]) + 1]
        size = len(buf)
        n = len(nl) + (0 if len(nl) and nl[-1] == size - 1 else 1) if size else 0
        starts = np.empty(n, dtype=np.int64)
        if not n:
            return starts, np.zeros(0, dtype=np.uint8), 0
        starts[0] = 0
        starts[1:] = nl[: n - 1] + 1
        ends = np.empty(n, dtype=np.int64)
        ends[:-1] = starts[1:]
        ends[-1] = size
        lengths = ends - starts  # newline included
        is_start = self.shapes.match(buf, starts, lengths)
        kinds = is_start.astype(np.uint8)
        others = np.flatnonzero(~is_start)
        if len(others):
            content = lengths[others] - (arr[ends[others] - 1] == 10)
            first = arr[starts[others]]
            indented = (content == 0) | (first == 9) | (first == 32)
            kinds[others[indented]] = INDENTED
        return starts, kinds, size


def _newlines(arr: np.ndarray, scratch: np.ndarray, enough: int) -> np.ndarray:
    """Offsets of the newlines, found 1 MiB at a time into one reused scratch array (a
    chunk-sized one would cost a chunk's worth of memory for nothing; a fresh one, time),
    until there are ``enough``."""
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
