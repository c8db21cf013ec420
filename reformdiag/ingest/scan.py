"""Ingest stage: stage one. Per file, on bytes, with no Python loop per line:

* the line pass (``lines``): where records start, which lines are orphans, how many lines;
  one compiled loop, or numpy;
* anchor phrases in one pass over the chunk (``phrases``: Hyperscan, or Aho-Corasick), each
  hit mapped to its record by bisection over the record starts;
* the kept records (anchor hits, and auxiliary records after a kept one) cut out as bytes.

Lark (stage two) then sees only the kept records. Every line read is counted once as a
record start, a continuation line, or an unparsed (orphan) line. Python work is per kept
record, per hit and per chunk, never per line.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reformdiag.ingest.lines import BEFORE_FIRST_RECORD, LONG_LINE, LinePass
from reformdiag.ingest.phrases import ATTACH, CANDIDATE, KEEP, PhraseSearch
from reformdiag.ingest.shapes import StartShapes

if TYPE_CHECKING:
    import numpy as np

    from reformdiag.ingest.grouping import RecordGroup

_TS = re.compile(rb"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d{1,3})?")
MAX_RECORD = 256 * 1024  # a kept record longer than this is cut (with its lines still counted)
MAX_ORPHAN_SAMPLES = 200
_REASONS = {BEFORE_FIRST_RECORD: "continuation line before the first record"}
_NO_PREFIX = "no record prefix (not a known line start, not indented)"


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
    group: RecordGroup | None = None  # kept records that join the one before (stage two)
    phrases: PhraseSearch = field(init=False, repr=False)
    start_shapes: StartShapes = field(init=False, repr=False)
    lines: LinePass = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.phrases = PhraseSearch(self.keep, self.attach, self.engine)
        self.start_shapes = StartShapes(self.shapes)
        self.lines = LinePass(self.start_shapes, self.continuation == "indented", self.line_pass)

    def keeping_all(self) -> ScanPlan:
        """The same plan with the prefilter off (``timeline --all``, ``--no-prefilter``)."""
        plan = ScanPlan(self.shapes, self.continuation, self.keep, self.attach, keep_all=True,
                        engine=self.engine, line_pass=self.line_pass, group=self.group)
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


class _Chunk:
    """One pass over a chunk (or over its first ``lines.MAX_LINES`` lines: ``size`` says how
    many bytes it took): the line table built once, then Python work per hit and per kept
    record only. Lines are numbered from 0 within the pass, records too (-1: the record
    carried over from the chunk before)."""

    def __init__(self, buf: memoryview, st: _State, plan: ScanPlan, res: ScanResult) -> None:
        self.st, self.plan, self.res = st, plan, res
        if st.scratch is None:
            st.scratch = plan.lines.scratch()
        self.t = t = plan.lines.run(buf, st.seen_record, st.scratch)
        self.size = t.used
        self.buf = buf if t.used == len(buf) else buf[:t.used]
        self.n = t.lines
        self.n_rec = len(t.rec_lines)
        self.first_start = t.rec_lines[0] if self.n_rec else self.n  # line of the first record

    # -- the accounting -------------------------------------------------------------------
    def _count(self) -> None:
        t, st, res = self.t, self.st, self.res
        orphans = len(t.orphan_lines)
        res.lines += self.n
        res.records += self.n_rec
        res.unparsed += orphans
        res.continuation += self.n - self.n_rec - orphans
        res.long_lines += t.long_lines
        for i in range(min(orphans, MAX_ORPHAN_SAMPLES - len(res.orphans))):
            res.orphans.append((st.line_base + t.orphan_lines[i] + 1,
                                _REASONS.get(t.orphan_reasons[i], _NO_PREFIX),
                                bytes(self.buf[t.orphan_offsets[i]:t.orphan_ends[i]])))

    # -- records --------------------------------------------------------------------------
    def _span(self, r: int) -> tuple[int, int, int, int]:
        """Record ``r``: its first line, the line after it, its first byte, the byte after."""
        t = self.t
        if r < 0:
            return 0, self.first_start, 0, t.rec_offsets[0] if self.n_rec else self.size
        if r + 1 < self.n_rec:
            return t.rec_lines[r], t.rec_lines[r + 1], t.rec_offsets[r], t.rec_offsets[r + 1]
        return t.rec_lines[r], self.n, t.rec_offsets[r], self.size

    def _orphans_in(self, lo: int, hi: int) -> tuple[int, int]:
        """The orphans on lines ``lo..hi-1``, as a range of indexes into the orphan arrays."""
        lines = self.t.orphan_lines
        if not len(lines):
            return 0, 0
        return bisect_left(lines, lo), bisect_left(lines, hi)

    def _lines(self, r: int) -> int:
        lo, hi, _, _ = self._span(r)
        a, b = self._orphans_in(lo, hi)
        return hi - lo - (b - a)

    def _text(self, r: int, limit: int = MAX_RECORD + 65536) -> bytes:
        """The bytes of record ``r`` without the orphan lines among them: the first ``limit``
        of them (a kept record is cut to MAX_RECORD anyway; a little more is read so that
        the cut is seen)."""
        lo_line, hi_line, lo, hi = self._span(r)
        a, b = self._orphans_in(lo_line, hi_line)
        if a == b:
            return bytes(self.buf[lo:min(hi, lo + limit)])
        t, parts, got, pos = self.t, [], 0, lo
        for i in [*range(a, b), -1]:  # the gaps between the orphans, then the tail
            end = t.orphan_offsets[i] if i >= 0 else hi
            if end > pos:
                parts.append(self.buf[pos:min(end, pos + limit - got)])
                got += len(parts[-1])
                if got >= limit:
                    break
            if i >= 0:
                pos = t.orphan_ends[i]
        return b"".join(parts)

    def _first_line(self, r: int) -> bytes:
        """The first line of record ``r`` (for its timestamp)."""
        _, _, lo, hi = self._span(r)
        head = bytes(self.buf[lo:min(hi, lo + 4096)])
        cut = head.find(b"\n")
        if cut < 0 and hi > lo + 4096:  # a long line: read on to its end
            head = bytes(self.buf[lo:min(hi, lo + LONG_LINE + 1)])
            cut = head.find(b"\n")
        return head if cut < 0 else head[:cut + 1]

    # -- anchor hits -> records -------------------------------------------------------------
    def _hits(self) -> tuple[set[int], set[int]]:
        """Records (-1: the carried one) holding a keep phrase, and those holding only an
        attach phrase. Candidates of the fallback engine are confirmed here."""
        keep: set[int] = set()
        attach: set[int] = set()
        offsets, kinds = self.plan.phrases.search(self.buf)
        if not offsets:
            return keep, attach
        t = self.t
        rec_offsets, orphan_offsets, orphan_ends = t.rec_offsets, t.orphan_offsets, t.orphan_ends
        candidates: set[int] = set()
        for off, kind in zip(offsets, kinds, strict=True):
            if len(orphan_offsets):  # an orphan belongs to no record
                i = bisect_right(orphan_offsets, off) - 1
                if i >= 0 and off < orphan_ends[i]:
                    continue
            r = bisect_right(rec_offsets, off) - 1
            if kind == KEEP:
                keep.add(r)
            elif kind == ATTACH:
                attach.add(r)
            elif kind == CANDIDATE:
                candidates.add(r)
        for r in sorted(candidates - keep):  # few records: the rest never leave C
            k, a = self.plan.classify(self._text(r, limit=1 << 62))
            if k:
                keep.add(r)
            elif a:
                attach.add(r)
        return keep, attach - keep

    # -- the pass ---------------------------------------------------------------------------
    def scan(self) -> Iterator[KeptRecord]:
        st, res, plan = self.st, self.res, self.plan
        self._count()
        if self.n_rec:
            if res.first_time is None:
                m = _TS.search(self._first_line(0))
                res.first_time = m.group(0) if m else None
            m = _TS.search(self._first_line(self.n_rec - 1))
            if m:
                res.last_time = m.group(0)
            st.seen_record = True
        keep, attach = (set(), set()) if plan.keep_all else self._hits()

        # the carried record: its lines before the first record start belong to it
        if st.open:
            if st.carry_bytes < MAX_RECORD:
                _carry_add(st, self._text(-1))
            st.carry_lines += self._lines(-1)
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
            text = self._text(r).rstrip(b"\r\n")
            if len(text) > MAX_RECORD:
                text = text[:MAX_RECORD]
                res.cut_records += 1
            yield KeptRecord(line=st.line_base + self.t.rec_lines[r] + 1, text=text,
                             n_lines=self._lines(r), attach=attached)

        # the last record stays open: it may go on in the next chunk
        st.prev_kept = st.prev_kept if last == 0 else (last - 1) in status
        st.open = True
        st.carry, st.carry_bytes = [], 0
        _carry_add(st, self._text(last))
        st.carry_line = st.line_base + self.t.rec_lines[last] + 1
        st.carry_lines = self._lines(last)
        st.carry_keep = plan.keep_all or last in keep
        st.carry_attach = last in attach
        st.line_base += self.n
