"""Ingest stage: stage one. Per file, on bytes, with no Python loop per line:

* line boundaries with numpy (``flatnonzero(buf == '\\n')``);
* record starts by checking the format's start shapes at every line start, vectorised;
* continuation / orphan lines by their first byte;
* anchor phrases with one Aho-Corasick automaton (leftmost-first DFA);
* the kept records (anchor hits, and auxiliary records after a kept one) cut out as bytes.

Lark (stage two) then sees only the kept records. Every line read is counted once as a
record start, a continuation line, or an unparsed (orphan) line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import ahocorasick_rs
import numpy as np

_TS = re.compile(rb"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d{1,3})?")
MAX_RECORD = 256 * 1024  # a kept record longer than this is cut (with its lines still counted)
MAX_ORPHAN_SAMPLES = 200
FAST_GROUP = 24
_LEADING_PUNCT = re.compile(rb"^[^A-Za-z0-9_]+")
LONG_LINE = 1024 * 1024


@dataclass(slots=True)
class ScanPlan:
    """What stage one needs to know about a format (built by the pipeline from the spec)."""

    shapes: tuple[bytes, ...]
    continuation: str  # any | indented
    keep: tuple[bytes, ...]  # a record holding one of these is kept
    attach: tuple[bytes, ...] = ()  # kept only when the record before it is kept
    keep_all: bool = False  # prefilter off: every record goes to Lark
    automaton: ahocorasick_rs.BytesAhoCorasick | None = field(default=None, repr=False)
    _attach_ids: set[int] = field(default_factory=set, init=False, repr=False)
    _fast: list[ahocorasick_rs.BytesAhoCorasick] = field(default_factory=list, init=False,
                                                         repr=False)
    _shape_checks: list[tuple[list[tuple[int, bool, int]], int]] = field(
        default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        phrases = list(dict.fromkeys([*self.keep, *self.attach]))
        self._attach_ids = {i for i, p in enumerate(phrases) if p in set(self.attach)
                            and p not in set(self.keep)}
        if phrases and self.automaton is None:
            # The exact phrase set, used on candidate records only.
            self.automaton = ahocorasick_rs.BytesAhoCorasick(
                phrases, matchkind=ahocorasick_rs.MATCHKIND_LEFTMOST_FIRST,
                implementation=ahocorasick_rs.Implementation.DFA)
            # The search over every byte: phrases without their leading punctuation ("] ERROR:"
            # -> "ERROR:"), in groups small enough for the SIMD (Teddy) prefilter. A superset of
            # the exact phrases, 1.3-1.7x faster than one automaton of all of them (measured,
            # docs/PERFORMANCE.md); candidates are then confirmed with the exact set.
            fast = list(dict.fromkeys(_LEADING_PUNCT.sub(b"", p) or p for p in phrases))
            self._fast = [
                ahocorasick_rs.BytesAhoCorasick(fast[i:i + FAST_GROUP],
                                                matchkind=ahocorasick_rs.MATCHKIND_LEFTMOST_FIRST)
                for i in range(0, len(fast), FAST_GROUP)
            ]
        self._shape_checks = [_compile_shape(s) for s in self.shapes]

    def candidates(self, buf: bytes) -> np.ndarray:
        """Byte offsets of every fast-phrase hit in ``buf`` (a superset of exact hits)."""
        found: list[tuple[int, int, int]] = []
        for ac in self._fast:
            found.extend(ac.find_matches_as_indexes(buf))
        if not found:
            return np.zeros(0, dtype=np.int64)
        return np.fromiter((start for _, start, _ in found), dtype=np.int64, count=len(found))

    def classify(self, text: bytes) -> tuple[bool, bool]:
        """(keep, attach) of one record's text, with the exact phrases."""
        keep = attach = False
        assert self.automaton is not None
        for pid, _, _ in self.automaton.find_matches_as_indexes(text):
            if pid in self._attach_ids:
                attach = True
            else:
                keep = True
                break
        return keep, attach

    def start_mask(self, arr: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """Which lines start a record: each shape checked at every line start at once.

        Only the literal bytes of a shape and its first digit are compared (``####-##-##
        ##:##:##`` -> 6 columns, not 19): a line that passes this but is not a record is
        still caught by Lark if it is kept, and counted unparsed then.
        """
        mask = np.zeros(len(starts), dtype=bool)
        last = len(arr) - 1
        long_enough = ends - starts
        for checks, width in self._shape_checks:
            ok = long_enough >= width
            for offset, digit, value in checks:
                col = arr[np.minimum(starts + offset, last)]
                ok &= (col - 48 < 10) if digit else (col == value)
            mask |= ok
        return mask


def _compile_shape(shape: bytes) -> tuple[list[tuple[int, bool, int]], int]:
    """``####-##-##`` -> [(0, digit), (4, '-'), (7, '-')]: the literal bytes and the first
    digit; ``?`` matches any byte."""
    checks: list[tuple[int, bool, int]] = []
    first_digit = True
    for offset, byte in enumerate(shape):
        if byte == ord("#"):
            if first_digit:
                checks.append((offset, True, 0))
                first_digit = False
        elif byte != ord("?"):
            checks.append((offset, False, byte))
    return checks, len(shape)


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
        self.scratch = np.empty(0, dtype=bool)  # reused: fresh pages cost more than the scan


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
        if len(chunk):
            yield from _scan_chunk(chunk, st, plan, res)
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


def _scan_chunk(buf: bytes, st: _State, plan: ScanPlan, res: ScanResult) -> Iterator[KeptRecord]:
    size = len(buf)
    arr = np.frombuffer(buf, dtype=np.uint8)
    if len(st.scratch) < size:
        st.scratch = np.empty(size, dtype=bool)
    eq = st.scratch[:size]
    np.equal(arr, 10, out=eq)
    nl = np.flatnonzero(eq)
    starts = np.concatenate((np.zeros(1, dtype=np.int64), nl + 1))
    if starts[-1] >= size:
        starts = starts[:-1]
    n = len(starts)
    ends = np.empty(n, dtype=np.int64)
    ends[:-1] = starts[1:]
    ends[-1] = size
    content_len = ends - starts - (arr[ends - 1] == 10)
    is_start = plan.start_mask(arr, starts, ends)
    blank = content_len == 0
    if plan.continuation == "indented":
        first = arr[np.minimum(starts, size - 1)]
        is_cont = ~is_start & (blank | (first == 9) | (first == 32))
    else:
        is_cont = ~is_start
    orphan = ~is_start & ~is_cont
    is_cont_raw = is_cont.copy()
    start_lines = np.flatnonzero(is_start)
    first_start = int(start_lines[0]) if len(start_lines) else n
    if not st.seen_record:
        # continuation lines before any record of the file have nothing to attach to
        lost = is_cont.copy()
        lost[first_start:] = False
        lost &= ~blank
        orphan |= lost
        is_cont &= ~lost

    # ---- accounting: every line once ----
    res.lines += n
    res.records += len(start_lines)
    res.unparsed += int(orphan.sum())
    res.continuation += int((is_cont & ~orphan).sum())
    res.long_lines += int((content_len > LONG_LINE).sum())
    if len(res.orphans) < MAX_ORPHAN_SAMPLES:
        for i in np.flatnonzero(orphan)[: MAX_ORPHAN_SAMPLES - len(res.orphans)]:
            li = int(i)
            reason = ("continuation line before the first record" if is_cont_raw[li]
                      else "no record prefix (not a known line start, not indented)")
            res.orphans.append((st.line_base + li + 1, reason, bytes(buf[starts[li]:ends[li]])))
    if len(start_lines):
        if res.first_time is None:
            m = _TS.search(bytes(buf[starts[first_start]:ends[first_start]]))
            res.first_time = m.group(0) if m else None
        last = int(start_lines[-1])
        m = _TS.search(bytes(buf[starts[last]:ends[last]]))
        if m:
            res.last_time = m.group(0)
        st.seen_record = True

    # ---- anchor hits -> records (record -1 is the open record carried from before) ----
    rec = np.cumsum(is_start) - 1
    n_rec = len(start_lines)
    keep = np.zeros(n_rec + 1, dtype=bool)  # index r + 1; index 0 = the carried record
    attach_hit = np.zeros(n_rec + 1, dtype=bool)
    candidate = np.zeros(n_rec + 1, dtype=bool)
    if plan.keep_all:
        keep[:] = True
    elif plan.automaton is not None:
        offsets = plan.candidates(buf)
        if len(offsets):
            candidate[rec[np.searchsorted(starts, offsets, side="right") - 1] + 1] = True

    def lines_text(lo: int, hi: int) -> bytes:
        idx = [i for i in range(lo, hi) if not orphan[i]]
        return b"".join(bytes(buf[starts[i]:ends[i]]) for i in idx)

    # confirm candidates with the exact phrases (few records: the rest never leave numpy)
    for c in np.flatnonzero(candidate[1:]):
        c = int(c)
        lo = int(start_lines[c])
        hi = int(start_lines[c + 1]) if c + 1 < n_rec else n
        keep[c + 1], attach_hit[c + 1] = plan.classify(lines_text(lo, hi))
    if candidate[0]:  # the carried record's continuation lines in this chunk had a hit
        k, att = plan.classify(lines_text(0, first_start))
        keep[0] |= k
        attach_hit[0] |= att

    # ---- the carried record: its lines before the first record start belong to it ----
    if st.open:
        lead = [i for i in range(first_start) if not orphan[i]] if first_start < n else None
        if lead is None:  # the whole chunk continues the open record
            _carry_add(st, lines_text(0, n))
            st.carry_lines += int((~orphan).sum())
        else:
            _carry_add(st, lines_text(0, first_start))
            st.carry_lines += len(lead)
        st.carry_keep |= bool(keep[0])
        st.carry_attach |= bool(attach_hit[0])
        if first_start < n:
            yield from _finish_carry(st, res, plan)

    # ---- records starting in this chunk; the last one stays open ----
    if n_rec == 0:
        st.line_base += n
        return
    kept = keep[1:]
    attach_ok = np.zeros(n_rec, dtype=bool)
    for r in np.flatnonzero(attach_hit[1:] & ~kept):
        r = int(r)
        before = st.prev_kept if r == 0 else bool(kept[r - 1] or attach_ok[r - 1])
        attach_ok[r] = before
    for r in np.flatnonzero((kept | attach_ok)[:-1]):
        r = int(r)
        lo, hi = int(start_lines[r]), int(start_lines[r + 1])
        text = lines_text(lo, hi).rstrip(b"\r\n")
        if len(text) > MAX_RECORD:
            text = text[:MAX_RECORD]
            res.cut_records += 1
        yield KeptRecord(line=st.line_base + lo + 1, text=text,
                         n_lines=int((~orphan[lo:hi]).sum()),
                         attach=bool(attach_ok[r] and not kept[r]))
    last = n_rec - 1
    lo = int(start_lines[last])
    st.prev_kept = st.prev_kept if last == 0 else bool(kept[last - 1] or attach_ok[last - 1])
    st.open = True
    st.carry, st.carry_bytes = [], 0
    _carry_add(st, lines_text(lo, n))
    st.carry_line = st.line_base + lo + 1
    st.carry_lines = int((~orphan[lo:n]).sum())
    st.carry_keep = bool(kept[last])
    st.carry_attach = bool(attach_hit[last + 1])
    st.line_base += n
