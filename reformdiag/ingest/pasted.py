"""Ingest stage: log lines pasted into a ticket, read like a bundle.

A ticket (``reformdiag analyze ticket.txt``) holds lines copied from several logs, often with
the editor's line numbers in front (``3013 2024-07-25 15:19:59.991 ...``) and damaged by the
copy or by OCR of a screenshot (case OG-C03 in ``shared/reference/opengauss/cases.md``):
``0[DMS]`` glued to the field before it, ``[unknown][unknown]``, ``dn 6001 6002`` and
``dn_60016002`` for ``dn_6001_6002``, ``PM WAIT BACKENDS``, milliseconds glued to the session
id, a year that lost its first digit. Sniffing marks such a file ``pasted``; then, one
line at a time (pasted files are small, a Python loop per line is fine here):

1. the line number and the indentation are stripped, and the damage is repaired, but only
   when the result is a record line of a known format (the format's ``detect``);
2. the line is routed to that format; a line no format claims continues the record before it
   (as the format's ``continuation`` allows) or is counted unparsed with its reason;
3. the records of each format go to stage two as if stage one had cut them from a log of
   that format, with the line accounting of each physical line kept.

The repairs apply to pasted text only: clean logs never show this damage, and their grammars
stay strict. A repaired line keeps its physical line number in the ticket.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reformdiag.ingest.encoding import NOTES as DECODE_NOTES
from reformdiag.ingest.encoding import UTF8, decode_text
from reformdiag.ingest.scan import KeptRecord, ScanPlan, ScanResult
from reformdiag.model import Event, FileReport

if TYPE_CHECKING:
    from reformdiag.ingest.sniff import Candidate

PASTED_NOTE = "pasted text, read line by line"
MAX_PASTED = 64 * 1024 * 1024  # larger files are logs, not tickets: never the per-line path
MAX_ORPHAN_SAMPLES = 200

_NUMBER = re.compile(r"^(\d{1,7})[ \t]+(?=\S)")
_TS = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d{1,3})?")
_LEVELS = r"(?:DEBUG[1-5]?|LOG|INFO|NOTICE|WARNING|ERROR|FATAL|PANIC|DETAIL|HINT|CONTEXT|" \
          r"STATEMENT|QUERY|CAUSE|ACTION|LOCATION)"
_DN_RUN = re.compile(r"\bdn((?:[ _]?6\d{3})+)(?=\s*[0-9A-Z]{5}\s|\d)")


def _node_name(m: re.Match[str]) -> str:
    ids = re.findall(r"6\d{3}", m.group(1))
    return "dn_" + "_".join(ids) + (" " if m.string[m.end():m.end() + 1].isdigit() else "")


def _pm_state(m: re.Match[str]) -> str:
    return m.group(1) + "PM_" + re.sub(r"[ _]+", "_", m.group(2))


# (what the repair says in the notes, pattern, replacement). Order matters: the session id is
# split from a glued query id before the module tag is split from the field before it.
_REPAIRS: tuple[tuple[str, re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    ("year that lost its first digit",
     re.compile(r"^0(\d\d-\d\d-\d\d[ T]\d\d:\d\d)"), r"20\1"),
    ("milliseconds glued to the next field",
     re.compile(r"^(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d\.\d{3})(?=[0-9A-Za-z])"), r"\1 "),
    ("[unknown][unknown] without a space", re.compile(r"\[unknown\](?=\[)"), "[unknown] "),
    ("session id glued to the next field",
     re.compile(r"(\d+\[\d+:\d+#\d+\])(?=[^\s\]])"), r"\1 "),
    ("module tag glued to the field before it",
     re.compile(r"(?<=[^\s\]])(\[[A-Z][A-Z0-9_]*\])(?=\s*" + _LEVELS + r"\s*:)"), r" \1"),
    ("space inside the module tag",
     re.compile(r"\[([A-Z][A-Z0-9_]*)\s+\](?=\s*" + _LEVELS + r"\s*:)"), r"[\1]"),
    ("node name with spaces or lost underscores (dn 6001 6002)", _DN_RUN, _node_name),
    ("PM state with spaces (PM WAIT BACKENDS)",
     re.compile(r"(PMstate\s+)PM[ _]([A-Z]+(?:[ _][A-Z0-9]+)*)"), _pm_state),
)


# Cheap signs of pasted text, a few fast searches a line (one alternation of them all is ten
# times slower): an editor line number or indentation before a record's head, or the damage
# the repairs undo (never the clean forms they produce).
_START_SIGN = re.compile(r"(?:[ \t]+(?:\d{1,7}[ \t]+)?|\d{1,7}[ \t]+)(?:\d{3,4}-\d\d-\d\d|UTC[+-]?\d|tid=)"
                         r"|0\d\d-\d\d-\d\d[ T]|\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d\.\d{3}[0-9A-Za-z]")
_SIGNS = tuple(re.compile(p) for p in (
    r"\[unknown\]\[", r"#\d+\][^\s\]]", r"\[[A-Z][A-Z0-9_]*\s+\]",
    r"dn(?: 6\d{3}|_?6\d{3}(?:_6\d{3})*(?:6\d{3}| 6\d{3}(?=\s*[0-9A-Z]{5}\s|\d)))",
    r"PMstate\s+PM(?:_[A-Z0-9]+)* [A-Z]"))
_MODULE = re.compile(r"\[[A-Z][A-Z0-9_]*\]\s*" + _LEVELS + r"\s*:")


def _has_sign(line: str) -> bool:
    if _START_SIGN.match(line) or any(r.search(line) for r in _SIGNS):
        return True
    m = _MODULE.search(line)  # a module tag glued to the field before it: ``0[DMS] LOG:``
    return bool(m and m.start() > 0 and not line[m.start() - 1].isspace()
                and line[m.start() - 1] != "]")


def looks_pasted(lines: list[str]) -> bool:
    """A cheap first look: does any line show a sign of pasted text?

    The head of a sniffed file is 400 lines: the start sign is tried on each line (an anchored
    match), the other signs over the joined text at once (a loop of searches per line cost
    ~1.4 ms a file). The joined search may say yes where a line-by-line look would not (a sign
    past a line's first module tag): that only costs the precise look of ``pasted_reason``;
    it never misses a line's sign.
    """
    if any(map(_START_SIGN.match, lines)):
        return True
    text = "\n".join(lines)
    if any(r.search(text) for r in _SIGNS):
        return True
    return any(m.start() > 0 and not text[m.start() - 1].isspace() and text[m.start() - 1] != "]"
               for m in _MODULE.finditer(text))


def repair(text: str) -> tuple[str, tuple[str, ...]]:
    """Undo the damage copying and OCR do to a record line; say which repairs applied.

    >>> repair("2024-07-25 09:34:50.892 x localhost 1 0[0:0#0] 0[DMS] LOG: [SS failover] x")
    ('2024-07-25 09:34:50.892 x localhost 1 0[0:0#0] 0 [DMS] LOG: [SS failover] x', \
('module tag glued to the field before it',))
    """
    if not _has_sign(text):
        return text, ()
    fixes = []
    for what, pattern, replacement in _REPAIRS:
        new, n = pattern.subn(replacement, text)
        if n and new != text:
            fixes.append(what)
            text = new
    return text, tuple(fixes)


@dataclass(slots=True)
class PastedLine:
    """One physical line as the router sees it."""

    text: str  # repaired record line, or the line as it was
    format: str | None  # the format whose detect it matches, if any
    number: int | None = None  # editor line number stripped from it
    fixes: tuple[str, ...] = ()
    indented: bool = False  # leading blanks stripped to make it a record line


def read_line(line: str, route: Callable[[str], str | None],
              last_number: int | None = None) -> PastedLine:
    """Strip an editor line number and indentation and repair the line, but keep the result
    only when it is a record line of a known format.

    After an editor line number ``last_number``, a line starting with a bigger number is
    numbered too: it is read without its number or not at all (``3019 apons dweq...``, an
    OCR'd line, must not pass for a line of a format that starts with a number)."""
    body = line.rstrip()
    stripped = body.lstrip()
    tries = [(stripped, None), *_numbered(stripped)]
    if last_number is not None and len(tries) == 2 and \
            last_number < (tries[1][1] or 0) <= last_number + 10_000:
        tries = tries[1:]
    for candidate, number in tries:
        fixed, fixes = repair(candidate)
        fmt = route(fixed)
        if fmt is not None:
            return PastedLine(fixed, fmt, number, fixes, indented=stripped != body)
    return PastedLine(line.rstrip("\r"), None)


def _numbered(text: str) -> list[tuple[str, int]]:
    m = _NUMBER.match(text)
    return [(text[m.end():], int(m.group(1)))] if m else []


def router(candidates: Iterable[Candidate]) -> Callable[[str], str | None]:
    """Line -> the first line format whose ``detect`` matches it (documents excluded: a
    ``cm_ctl query`` table needs the whole document)."""
    formats = [(c.id, c.detect) for c in candidates if not c.document]

    def route(text: str) -> str | None:
        for fmt_id, detect in formats:
            if detect.search(text):
                return fmt_id
        return None

    return route


def pasted_reason(lines: list[str], candidates: list[Candidate]) -> tuple[str, str] | None:
    """The format most lines have and why the first lines of a file look pasted (editor line
    numbers, indented or damaged record lines, lines of several formats), or None if they look
    like a plain log."""
    route = router(candidates)
    seen = [read_line(ln, route) for ln in lines if ln.strip()]
    routed = [p for p in seen if p.format is not None]
    if not routed or len(routed) < 0.3 * len(seen):
        return None
    formats = Counter(p.format for p in routed)
    numbered = sum(1 for p in routed if p.number is not None)
    indented = sum(1 for p in routed if p.indented)
    damaged = sum(1 for p in routed if p.fixes)
    why = []
    if numbered >= 0.3 * len(seen):
        why.append(f"editor line numbers on {numbered} of {len(seen)} lines")
    if indented >= 0.3 * len(seen):
        why.append(f"{indented} indented record lines")
    if damaged:
        why.append(f"{damaged} line(s) damaged by copying")
    if len(formats) > 1:
        why.append("lines of " + ", ".join(sorted(f for f in formats if f)))
    if not why:
        return None
    return str(formats.most_common(1)[0][0]), "; ".join(why)


@dataclass(slots=True)
class _Record:
    fmt: str
    line: int
    lines: list[str]
    n_lines: int = 1


@dataclass(slots=True)
class Routed:
    """Per format: the records for stage two and the line accounting (as stage one gives)."""

    groups: dict[str, tuple[list[KeptRecord], ScanResult]] = field(default_factory=dict)
    numbered: int = 0
    first_number: int | None = None
    last_number: int | None = None
    fixes: Counter[str] = field(default_factory=Counter)
    decoded: Counter[str] = field(default_factory=Counter)  # lines not UTF-8: how read

    def notes(self) -> list[str]:
        """What the report says about the file."""
        kinds = ", ".join(f"{fmt} ({res.lines} lines)" for fmt, (_, res) in
                          sorted(self.groups.items()))
        out = [f"{PASTED_NOTE}: {kinds}"]
        if self.numbered:
            out.append(f"editor line numbers stripped from {self.numbered} lines "
                       f"({self.first_number}..{self.last_number})")
        out.extend(f"repaired: {what} ({n})" for what, n in self.fixes.most_common())
        out.extend(f"{DECODE_NOTES[how].replace('records', 'lines', 1)} ({n})"
                   for how, n in self.decoded.most_common())
        return out


def _decode(raw: bytes) -> tuple[str, str]:
    return decode_text(raw.replace(b"\x00", b"").rstrip(b"\r"))


def _common_indent(texts: Iterable[str]) -> int:
    """Blanks every non-blank line starts with: a block indented as a whole when pasted
    (a Markdown code block), not the indentation of continuation lines."""
    widths = [len(t) - len(t.lstrip(" \t")) for t in texts if t.strip()]
    return min(widths) if widths else 0


def route_lines(lines: Iterable[bytes], candidates: list[Candidate],
                plans: dict[str, ScanPlan]) -> Routed:
    """Route every physical line of a pasted file (see the module docstring)."""
    route = router(c for c in candidates if c.id in plans)
    out = Routed()
    results: dict[str, ScanResult] = {}
    kept: dict[str, list[KeptRecord]] = {}
    before: list[tuple[int, str]] = []  # lines before the first record: (line, text)
    current: _Record | None = None
    prev_kept: dict[str, bool] = {}

    def close(rec: _Record | None) -> None:
        if rec is None:
            return
        plan = plans[rec.fmt]
        text = "\n".join(rec.lines).encode("utf-8")
        attach = any(a in text.split(b"\n", 1)[0] for a in plan.attach) and bool(
            prev_kept.get(rec.fmt))
        kept.setdefault(rec.fmt, []).append(KeptRecord(rec.line, text, rec.n_lines, attach))
        prev_kept[rec.fmt] = True

    def result(fmt: str) -> ScanResult:
        return results.setdefault(fmt, ScanResult())

    decoded = [_decode(raw) for raw in lines]  # pasted files are small: hold them
    out.decoded.update(how for _, how in decoded if how != UTF8)
    indent = _common_indent(text for text, _ in decoded)
    for number, (text, _) in enumerate(decoded, 1):
        text = text[indent:] if text[:indent].isspace() else text
        seen = read_line(text, route, out.last_number)
        if seen.format is not None:
            close(current)
            current = _Record(seen.format, number, [seen.text])
            res = result(seen.format)
            res.lines += 1
            res.records += 1
            m = _TS.search(seen.text)
            if m:
                stamp = m.group(0).encode()
                res.first_time = res.first_time or stamp
                res.last_time = stamp
            if seen.number is not None:
                out.numbered += 1
                out.first_number = out.first_number if out.first_number is not None \
                    else seen.number
                out.last_number = seen.number
            out.fixes.update(seen.fixes)
            continue
        if current is None:
            before.append((number, text))
            continue
        res = result(current.fmt)
        res.lines += 1
        blank = not text.strip()
        if blank or plans[current.fmt].continuation == "any" or text[:1] in (" ", "\t"):
            res.continuation += 1
            current.n_lines += 1
            if not blank:
                current.lines.append(text)
        else:
            res.unparsed += 1
            if len(res.orphans) < MAX_ORPHAN_SAMPLES:
                res.orphans.append((number, "pasted line of no known format, not a "
                                            "continuation", text.encode("utf-8")))
    close(current)
    if results and before:  # lines before the first record count with the first format
        first = min(results, key=lambda f: kept[f][0].line)
        res = results[first]
        for number, text in before:
            res.lines += 1
            if text.strip():
                res.unparsed += 1
                if len(res.orphans) < MAX_ORPHAN_SAMPLES:
                    res.orphans.append((number, "pasted line of no known format",
                                        text.encode("utf-8")))
            else:
                res.continuation += 1
        res.orphans.sort()
    out.groups = {fmt: (kept.get(fmt, []), res) for fmt, res in results.items()}
    return out


def physical_lines(chunks: Iterable[bytes | memoryview]) -> Iterable[bytes]:
    """The lines of chunks that end at line boundaries (the reader's), without their LF."""
    for chunk in chunks:
        lines = bytes(chunk).split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        yield from lines


def merge_report(into: FileReport, part: FileReport) -> None:
    """Add the accounting of one format's lines of a pasted file to the file's report."""
    into.lines += part.lines
    into.records += part.records
    into.continuation += part.continuation
    into.unparsed += part.unparsed
    into.events += part.events
    into.unparsed_lines = sorted([*into.unparsed_lines, *part.unparsed_lines],
                                 key=lambda u: u.line)
    into.notes.extend(n for n in part.notes if n not in into.notes)
    if part.first is not None and (into.first is None or part.first < into.first):
        into.first = part.first
    if part.last is not None and (into.last is None or part.last > into.last):
        into.last = part.last


def is_pasted(report: FileReport) -> bool:
    """Was this file read as pasted text (its events do not come from stage one)?"""
    return any(n.startswith(PASTED_NOTE) for n in report.notes)


def source_reports(report: FileReport, events: list[Event]) -> list[FileReport]:
    """A pasted file holds lines of several logs: one extra (line-less) report per other
    source its events come from, so that rules needing that source see it is present."""
    if not is_pasted(report):
        return []
    counts = Counter(e.source for e in events if e.source != report.format)
    return [FileReport(path=report.path, status="analysed", format=source, system=report.system,
                       host=report.host, node=report.node, events=n, first=report.first,
                       last=report.last)
            for source, n in sorted(counts.items())]
