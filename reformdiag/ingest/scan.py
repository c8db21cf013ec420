"""Ingest stage: stage one. Per file, on bytes, with no Python loop per line:

* line boundaries with numpy (``flatnonzero(buf == '\\n')``);
* record starts by checking the format's start shapes at every line start, vectorised;
* continuation / orphan lines by their first byte;
* anchor phrases with one Aho-Corasick automaton (leftmost-first, ~10 GB/s);
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
    _shape_checks: list[tuple[list[tuple[int, str, int]], int]] = field(
        default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        phrases = list(dict.fromkeys([*self.keep, *self.attach]))
        self._attach_ids = {i for i, p in enumerate(phrases) if p in set(self.attach)
                            and p not in set(self.keep)}
        if phrases and self.automaton is None:
            self.automaton = ahocorasick_rs.BytesAhoCorasick(
                phrases, matchkind=ahocorasick_rs.MATCHKIND_LEFTMOST_FIRST)
        self._shape_checks = [_compile_shape(s) for s in self.shapes]

    def start_mask(self, arr: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        mask = np.zeros(len(starts), dtype=bool)
        for checks, width in self._shape_checks:
            ok = (ends - starts) >= width
            for offset, kind, value in checks:
                idx = np.minimum(starts + offset, len(arr) - 1)
                col = arr[idx]
                if kind == "digit":
                    ok &= (col >= 48) & (col <= 57)
                else:
                    ok &= col == value
            mask |= ok
        return mask


def _compile_shape(shape: bytes) -> tuple[list[tuple[int, str, int]], int]:
    """``####-##`` -> [(0, digit), ..., (4, literal '-')...]; ``?`` matches any byte."""
    checks = []
    for offset, byte in enumerate(shape):
        if byte == ord("#"):
            checks.append((offset, "digit", 0))
        elif byte != ord("?"):
            checks.append((offset, "literal", byte))
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
    def __init__(self) -> None:
        self.carry = b""  # bytes of the open (last, unfinished) record
        self.carry_lines = 0
        self.line_base = 0  # file line index of the first line of the carry / buffer
        self.seen_record = False
        self.prev_kept = False  # was the record before the carried one kept? (for attach)


def scan(chunks: Iterable[bytes], plan: ScanPlan) -> ScanResult:
    """Run stage one over the chunks of one file."""
    res = ScanResult()
    res.kept = list(iter_scan(chunks, plan, res))
    return res


def iter_scan(chunks: Iterable[bytes], plan: ScanPlan, res: ScanResult) -> Iterator[KeptRecord]:
    """Stage one as a stream: yields kept records chunk by chunk (memory stays bounded);
    ``res`` holds the accounting, complete once the generator is exhausted."""
    st = _State()
    for chunk in chunks:
        _scan_buffer(st.carry + chunk, st, plan, res, final=False)
        yield from res.kept
        res.kept = []
    _scan_buffer(st.carry, st, plan, res, final=True)
    yield from res.kept
    res.kept = []


def _scan_buffer(buf: bytes, st: _State, plan: ScanPlan, res: ScanResult, final: bool) -> None:
    skip = st.carry_lines  # lines at the head of buf already counted in the previous pass
    if not buf:
        return
    arr = np.frombuffer(buf, dtype=np.uint8)
    nl = np.flatnonzero(arr == 10)
    starts = np.concatenate((np.zeros(1, dtype=np.int64), nl + 1))
    if starts[-1] >= len(buf):
        starts = starts[:-1]
    n = len(starts)
    ends = np.empty(n, dtype=np.int64)
    ends[:-1] = starts[1:]
    ends[-1] = len(buf)
    content_len = ends - starts - (arr[ends - 1] == 10)
    is_start = plan.start_mask(arr, starts, ends)
    blank = content_len == 0
    if plan.continuation == "indented":
        first = arr[np.minimum(starts, len(arr) - 1)]
        is_cont = ~is_start & (blank | (first == 9) | (first == 32))
    else:
        is_cont = ~is_start
    orphan = ~is_start & ~is_cont
    is_cont_raw = is_cont.copy()
    # Continuation lines before any record of the file have nothing to attach to.
    if not st.seen_record:
        first_start = int(np.argmax(is_start)) if is_start.any() else n
        pre = np.zeros(n, dtype=bool)
        pre[:first_start] = True
        lost = pre & is_cont & ~blank
        orphan |= lost
        is_cont &= ~lost
    rec = np.cumsum(is_start) - 1  # record index per line (-1 before the first record)
    start_lines = np.flatnonzero(is_start)

    # ---- accounting (only lines not counted in an earlier pass) ----
    counted = slice(skip, n)
    res.lines += n - skip
    res.records += int(is_start[counted].sum())
    res.unparsed += int(orphan[counted].sum())
    res.continuation += int((is_cont & ~orphan)[counted].sum())
    res.long_lines += int((content_len[counted] > LONG_LINE).sum())
    if len(res.orphans) < MAX_ORPHAN_SAMPLES:
        for i in np.flatnonzero(orphan[counted])[: MAX_ORPHAN_SAMPLES - len(res.orphans)]:
            li = int(i) + skip
            reason = ("continuation line before the first record" if is_cont_raw[li]
                      else "no record prefix (not a known line start, not indented)")
            res.orphans.append((st.line_base + li + 1, reason, buf[starts[li]:ends[li]]))
    if len(start_lines):
        if res.first_time is None:
            m = _TS.search(buf, int(starts[start_lines[0]]), int(ends[start_lines[0]]))
            res.first_time = m.group(0) if m else None
        m = _TS.search(buf, int(starts[start_lines[-1]]), int(ends[start_lines[-1]]))
        if m:
            res.last_time = m.group(0)
        st.seen_record = True

    # ---- which records are kept ----
    n_rec = len(start_lines)
    open_rec = n_rec - 1 if (not final and n_rec) else None
    if open_rec is not None and len(buf) - int(starts[start_lines[open_rec]]) > 4 * MAX_RECORD:
        open_rec = None  # a runaway record: finish it here rather than carry megabytes
    if n_rec:
        if plan.keep_all:
            kept = np.ones(n_rec, dtype=bool)
            attach = np.zeros(n_rec, dtype=bool)
        else:
            kept, attach = _hits(buf, starts, rec, plan, n_rec, st.prev_kept)
        order = np.flatnonzero(kept | attach)
        for r in order:
            r = int(r)
            if r == open_rec:
                break
            first_line = int(start_lines[r])
            last_line = int(start_lines[r + 1]) if r + 1 < n_rec else n
            lines = [i for i in range(first_line, last_line) if not orphan[i]]
            text = b"".join(buf[starts[i]:ends[i]] for i in lines).rstrip(b"\r\n")
            if len(text) > MAX_RECORD:
                text = text[:MAX_RECORD]
                res.cut_records += 1
            res.kept.append(KeptRecord(line=st.line_base + first_line + 1, text=text,
                                       n_lines=len(lines), attach=bool(attach[r] and not kept[r])))
    # ---- carry the open record into the next pass ----
    if open_rec is not None and open_rec > 0 and not plan.keep_all:
        st.prev_kept = bool(kept[open_rec - 1] or attach[open_rec - 1])
    if open_rec is not None:
        first_line = int(start_lines[open_rec])
        st.carry = buf[starts[first_line]:]
        st.carry_lines = n - first_line
        st.line_base += first_line
    else:
        st.carry, st.carry_lines = b"", 0
        st.line_base += n


def _hits(buf: bytes, starts: np.ndarray, rec: np.ndarray, plan: ScanPlan,
          n_rec: int, prev_kept: bool) -> tuple[np.ndarray, np.ndarray]:
    kept = np.zeros(n_rec, dtype=bool)
    attach = np.zeros(n_rec, dtype=bool)
    if plan.automaton is None:
        return kept, attach
    found = plan.automaton.find_matches_as_indexes(buf)
    if not found:
        return kept, attach
    hits = np.asarray(found, dtype=np.int64)
    line_idx = np.searchsorted(starts, hits[:, 1], side="right") - 1
    rec_idx = rec[line_idx]
    valid = rec_idx >= 0
    is_attach = np.isin(hits[:, 0], list(plan._attach_ids)) if plan._attach_ids else np.zeros(
        len(hits), dtype=bool)
    kept[rec_idx[valid & ~is_attach]] = True
    cand = rec_idx[valid & is_attach]
    # An auxiliary record is kept when the record before it is kept; chains (DETAIL, HINT...)
    # follow a kept record one after another.
    attach_set = np.zeros(n_rec, dtype=bool)
    attach_set[cand] = True
    for r in np.flatnonzero(attach_set):
        before = prev_kept if r == 0 else bool(kept[r - 1] or attach[r - 1])
        if before:
            attach[r] = True
    return kept, attach
