"""Ingest stage: stage one. Per file, on bytes, with no Python loop per line:

* the line pass (``lines``): every line start, and whether the line starts a record (the
  format's start shapes), is blank or indented, or neither; one compiled loop, or numpy;
* continuation / orphan lines from those kinds and the format's continuation rule;
* anchor phrases in one pass over the chunk (``phrases``: Hyperscan, or Aho-Corasick);
* the kept records (anchor hits, and auxiliary records after a kept one) cut out as bytes.

Lark (stage two) then sees only the kept records. Every line read is counted once as a
record start, a continuation line, or an unparsed (orphan) line. Python work is per kept
record and per chunk, never per line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from reformdiag.ingest.lines import INDENTED, START, LinePass
from reformdiag.ingest.phrases import ATTACH, CANDIDATE, KEEP, PhraseSearch
from reformdiag.ingest.shapes import StartShapes

_TS = re.compile(rb"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d{1,3})?")
MAX_RECORD = 256 * 1024  # a kept record longer than this is cut (with its lines still counted)
MAX_ORPHAN_SAMPLES = 200
LONG_LINE = 1024 * 1024


@dataclass(slots=True)
class ScanPlan:
    """What stage one needs to know about a format (built by the pipeline from the spec)."""

    shapes: tuple[bytes, ...]
    continuation: str  # any | indented
    keep: tuple[bytes, ...]  # a record holding one of these is kept
    attach: tuple[bytes, ...] = ()  # kept only when the record before it is kept
    keep_all: bool = False  # prefilter off: every record goes to Lark
    engine: str = "auto"  # phrase search: auto | hyperscan | aho-corasick
    line_pass: str = "auto"  # auto | compiled | numpy
    phrases: PhraseSearch = field(init=False, repr=False)
    start_shapes: StartShapes = field(init=False, repr=False)
    lines: LinePass = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.phrases = PhraseSearch(self.keep, self.attach, self.engine)
        self.start_shapes = StartShapes(self.shapes)
        self.lines = LinePass(self.start_shapes, self.line_pass)

    def keeping_all(self) -> ScanPlan:
        """The same plan with the prefilter off (``timeline --all``, ``--no-prefilter``)."""
        plan = ScanPlan(self.shapes, self.continuation, self.keep, self.attach, keep_all=True,
                        engine=self.engine, line_pass=self.line_pass)
        plan.phrases = self.phrases  # keeps its compiled engine
        return plan

    def classify(self, text: bytes) -> tuple[bool, bool]:
        """(keep, attach) of one record's text, with the exact phrases."""
        return self.phrases.classify(text)

    def is_record_start(self, line: bytes) -> bool:
        return self.start_shapes.match_line(line)


@dataclass(slots=True)
class KeptRecord:
    line: int  # 1-based line of the record's first line in the file
    text: bytes
    n_lines: int
    attach: bool = False  # an auxiliary record (DETAIL/HINT...) folded into the one before


@dataclass(slots=True)
class ScanResult:
    lines: int = 0
    records: int = 0
    continuation: int = 0
    unparsed: int = 0
    kept: list[KeptRecord] = field(default_factory=list)
    orphans: list[tuple[int, str, bytes]] = field(default_factory=list)  # line, reason, text
    first_time: bytes | None = None
    last_time: bytes | None = None
    cut_records: int = 0
    long_lines: int = 0  # lines longer than LONG_LINE (cut when a record is parsed)


class _State:
    """What one pass leaves for the next: the open (last, unfinished) record and counters."""

    def __init__(self) -> None:
        self.open = False
        self.carry: list[bytes] = []  # text pieces of the open record
        self.carry_bytes = 0
        self.carry_line = 0  # 1-based file line where the open record starts
        self.carry_lines = 0  # its physical lines so far (orphans excluded)
        self.carry_keep = False
        self.carry_attach = False
        self.line_base = 0  # lines before the current chunk
        self.seen_record = False
        self.prev_kept = False  # was the record before the open one kept? (for attach)
        self.scratch: np.ndarray | None = None  # the numpy line pass's, reused across chunks


def scan(chunks: Iterable[bytes], plan: ScanPlan) -> ScanResult:
    """Run stage one over the chunks of one file."""
    res = ScanResult()
    res.kept = list(iter_scan(chunks, plan, res))
    return res


def iter_scan(chunks: Iterable[bytes], plan: ScanPlan, res: ScanResult) -> Iterator[KeptRecord]:
    """Stage one as a stream: yields kept records chunk by chunk (memory stays bounded);
    ``res`` holds the accounting, complete once the generator is exhausted.

    A chunk may be a memoryview of a buffer the reader reuses: nothing here keeps a reference
    to it after the chunk is done (kept text is copied out as bytes).
    """
    st = _State()
    for chunk in chunks:
        rest = memoryview(chunk)
        while len(rest):  # one pass, unless the chunk has more lines than a pass takes
            piece = _Chunk(rest, st, plan, res)
            yield from piece.scan()
            rest = rest[piece.size:]
    yield from _finish_carry(st, res, plan)


def _carry_add(st: _State, piece: bytes) -> None:
    if st.carry_bytes < MAX_RECORD:
        st.carry.append(piece)
        st.carry_bytes += len(piece)


def _finish_carry(st: _State, res: ScanResult, plan: ScanPlan) -> Iterator[KeptRecord]:
    if not st.open:
        return
    st.open = False
    kept = st.carry_keep or plan.keep_all
    attach = st.carry_attach and st.prev_kept and not kept
    st.prev_kept = kept or attach
    if kept or attach:
        text = b"".join(st.carry).rstrip(b"\r\n")
        if len(text) > MAX_RECORD:
            text = text[:MAX_RECORD]
            res.cut_records += 1
        yield KeptRecord(line=st.carry_line, text=text, n_lines=st.carry_lines, attach=attach)
    st.carry, st.carry_bytes = [], 0


_NONE = np.zeros(0, dtype=np.int64)


class _Chunk:
    """One pass over a chunk (or over its first ``lines.MAX_LINES`` lines: ``size`` says how
    many bytes it took): line arrays built once, then Python work per kept record only."""

    def __init__(self, buf: memoryview | bytes, st: _State, plan: ScanPlan,
                 res: ScanResult) -> None:
        self.st, self.plan, self.res = st, plan, res
        if st.scratch is None:
            st.scratch = plan.lines.scratch()
        starts, self.kinds, size = plan.lines.run(buf, st.scratch)
        self.buf = buf if size == len(buf) else buf[:size]  # the lines of this pass
        self.size = size
        n = len(starts)
        ends = np.empty(n, dtype=np.int64)
        ends[:-1] = starts[1:]
        ends[-1] = size
        self.arr = np.frombuffer(self.buf, dtype=np.uint8)
        self.n, self.starts, self.ends = n, starts, ends
        self.lengths = ends - starts  # newline included
        self.start_lines = np.flatnonzero(self.kinds == START)
        self.n_rec = len(self.start_lines)
        self.first_start = int(self.start_lines[0]) if self.n_rec else n

    # -- the lines that start no record: continuation, or orphans -------------------------
    def _others(self) -> None:
        """Sets ``orphans`` (sorted line indexes) and counts every line of the chunk."""
        st, res, n = self.st, self.res, self.n
        self.orphans = _NONE
        others = np.flatnonzero(self.kinds != START)
        if len(others):
            if self.plan.continuation == "indented":
                cont = self.kinds[others] == INDENTED
            else:
                cont = np.ones(len(others), dtype=bool)
            raw_cont = cont.copy()
            if not st.seen_record:
                # continuation lines before any record of the file have nothing to attach to
                # (blank lines excepted: they are continuation lines wherever they are)
                ends = self.ends[others]
                blank = self.lengths[others] - (self.arr[ends - 1] == 10) == 0
                lost = cont & (others < self.first_start) & ~blank
                cont &= ~lost
            orphan = ~cont
            self.orphans = others[orphan]
            if len(res.orphans) < MAX_ORPHAN_SAMPLES and len(self.orphans):
                for i, li in zip(np.flatnonzero(orphan)[: MAX_ORPHAN_SAMPLES - len(res.orphans)],
                                 self.orphans.tolist(), strict=False):
                    reason = ("continuation line before the first record" if raw_cont[i]
                              else "no record prefix (not a known line start, not indented)")
                    res.orphans.append((st.line_base + li + 1, reason, self._line(li)))
        res.lines += n
        res.records += self.n_rec
        res.unparsed += len(self.orphans)
        res.continuation += n - self.n_rec - len(self.orphans)
        long = np.flatnonzero(self.lengths > LONG_LINE)
        if len(long):
            content = self.lengths[long] - (self.arr[self.ends[long] - 1] == 10)
            res.long_lines += int((content > LONG_LINE).sum())

    def _line(self, i: int) -> bytes:
        return bytes(self.buf[self.starts[i]:self.ends[i]])

    def _orphans_in(self, lo: int, hi: int) -> np.ndarray:
        if not len(self.orphans):
            return _NONE
        a, b = np.searchsorted(self.orphans, (lo, hi))
        return self.orphans[a:b]

    def _text(self, lo: int, hi: int, limit: int = MAX_RECORD + 65536) -> bytes:
        """Lines ``lo..hi-1`` without the orphans among them, whole lines up to ``limit``
        bytes (a kept record is cut to MAX_RECORD anyway)."""
        if hi <= lo:
            return b""
        start = int(self.starts[lo])
        if self.ends[hi - 1] - start > limit:
            hi = max(lo + 1, int(np.searchsorted(self.starts, start + limit)))
        skip = self._orphans_in(lo, hi)
        if not len(skip):
            return bytes(self.buf[start:self.ends[hi - 1]])
        skipped = set(skip.tolist())
        return b"".join(self._line(i) for i in range(lo, hi) if i not in skipped)

    def _span(self, r: int) -> tuple[int, int]:
        """Lines of record ``r`` in this chunk (-1: the carried record's continuation)."""
        lo = int(self.start_lines[r]) if r >= 0 else 0
        hi = int(self.start_lines[r + 1]) if r + 1 < self.n_rec else self.n
        return lo, hi

    # -- anchor hits -> records -------------------------------------------------------------
    def _hits(self) -> tuple[set[int], set[int]]:
        """Records (-1: the carried one) holding a keep phrase, and those holding only an
        attach phrase. Candidates of the fallback engine are confirmed here."""
        keep: set[int] = set()
        attach: set[int] = set()
        offsets, kinds = self.plan.phrases.search(self.buf)
        if not len(offsets):
            return keep, attach
        line = np.searchsorted(self.starts, offsets, side="right") - 1
        if len(self.orphans):  # an orphan belongs to no record
            ok = ~np.isin(line, self.orphans)
            line, kinds = line[ok], kinds[ok]
        rec = np.searchsorted(self.start_lines, line, side="right") - 1
        candidates: set[int] = set()
        for r, kind in zip(rec.tolist(), kinds.tolist(), strict=True):
            if kind == KEEP:
                keep.add(r)
            elif kind == ATTACH:
                attach.add(r)
            elif kind == CANDIDATE:
                candidates.add(r)
        for r in sorted(candidates - keep):  # few records: the rest never leave numpy
            k, a = self.plan.classify(self._text(*self._span(r), limit=1 << 62))
            if k:
                keep.add(r)
            elif a:
                attach.add(r)
        return keep, attach - keep

    # -- the pass ---------------------------------------------------------------------------
    def scan(self) -> Iterator[KeptRecord]:
        st, res, plan = self.st, self.res, self.plan
        self._others()
        if self.n_rec:
            if res.first_time is None:
                m = _TS.search(self._line(self.first_start))
                res.first_time = m.group(0) if m else None
            m = _TS.search(self._line(int(self.start_lines[-1])))
            if m:
                res.last_time = m.group(0)
            st.seen_record = True
        keep, attach = (set(), set()) if plan.keep_all else self._hits()

        # the carried record: its lines before the first record start belong to it
        if st.open:
            lo, hi = 0, self.first_start
            if st.carry_bytes < MAX_RECORD:
                _carry_add(st, self._text(lo, hi))
            st.carry_lines += hi - lo - len(self._orphans_in(lo, hi))
            st.carry_keep |= -1 in keep
            st.carry_attach |= -1 in attach
            if self.n_rec:
                yield from _finish_carry(st, res, plan)
        if not self.n_rec:
            st.line_base += self.n
            return

        # records starting in this chunk; an attach record counts only after a kept one
        status: dict[int, bool] = {}  # record -> attached (False: kept for itself)
        for r in (range(self.n_rec) if plan.keep_all else sorted((keep | attach) - {-1})):
            if plan.keep_all or r in keep:
                status[r] = False
            elif (st.prev_kept if r == 0 else (r - 1) in status):
                status[r] = True
        last = self.n_rec - 1
        for r, attached in status.items():
            if r == last:
                continue
            lo, hi = self._span(r)
            text = self._text(lo, hi).rstrip(b"\r\n")
            if len(text) > MAX_RECORD:
                text = text[:MAX_RECORD]
                res.cut_records += 1
            yield KeptRecord(line=st.line_base + lo + 1, text=text,
                             n_lines=hi - lo - len(self._orphans_in(lo, hi)), attach=attached)

        # the last record stays open: it may go on in the next chunk
        lo, hi = self._span(last)
        st.prev_kept = st.prev_kept if last == 0 else (last - 1) in status
        st.open = True
        st.carry, st.carry_bytes = [], 0
        _carry_add(st, self._text(lo, hi))
        st.carry_line = st.line_base + lo + 1
        st.carry_lines = hi - lo - len(self._orphans_in(lo, hi))
        st.carry_keep = plan.keep_all or last in keep
        st.carry_attach = last in attach
        st.line_base += self.n
