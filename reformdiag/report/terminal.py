"""Report stage: the terminal view (rich), readable at 80 columns and as plain text in pipes.

Order: verdict, findings by severity (root cause, remediation, figures, key evidence lines),
episodes, inputs and their coverage, and what could not be analysed.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from reformdiag.model import Event, FileReport, Finding
from reformdiag.pipeline import Analysis
from reformdiag.report.common import short_time
from reformdiag.report.findings import EPISODE_SHOWN, verdict
from reformdiag.timeline.clock import fmt_offset
from reformdiag.timeline.frame import is_notable

LEVEL_STYLE = {"panic": "bold red", "fatal": "bold red", "error": "red", "warning": "yellow",
               "notice": "cyan", "info": "", "debug": "dim"}
SEVERITY_STYLE = {"critical": "bold white on red", "high": "bold red", "medium": "bold yellow",
                  "low": "cyan", "info": "dim"}


def _heading(console: Console, text: str) -> None:
    console.print()
    console.print(Text(text.upper(), style="bold underline"))


def _hms(moment: Any) -> str:
    return short_time(moment)[11:] if moment else "?"


def event_line(e: Event, where: bool = True) -> Text:
    """One event as one line: time node level kind message (file:line)."""
    t = Text()
    t.append(short_time(e.time)[5:] if e.time else "??-?? ??:??:??.???", style="dim")
    t.append(f"  {e.node:<14} ")
    t.append(f"{e.level:<7}", style=LEVEL_STYLE.get(e.level, ""))
    t.append(f" {e.kind:<26} ", style="bold" if e.kind != "log" else "")
    first, _, more = e.message.partition("\n")
    t.append(first[:240])
    if more:  # continuation lines (a DETAIL, an RHB matrix's rows): in the exports, in full
        n = more.count("\n") + 1
        t.append(f" (+{n} line{'s' if n > 1 else ''})", style="dim")
    if where:
        t.append(f"  ({e.file.rsplit('/', 1)[-1]}:{e.line})", style="dim")
    return t


def render_findings(findings: list[Finding], console: Console, indent: str = "") -> None:
    pad = len(indent) + 3
    for f in findings:
        head = Text(indent)
        head.append(f" {f.severity.upper()} ", style=SEVERITY_STYLE.get(f.severity, ""))
        head.append(f" {f.rule} {f.title}", style="bold")
        if f.references:
            head.append(f"  [{', '.join(f.references)}]", style="cyan")
        console.print(_para(head, 0, hang=len(indent) + 7))
        console.print(_para(f"nodes: {', '.join(f.nodes) or '-'}    window: "
                            f"{short_time(f.start)} .. {_hms(f.end)} UTC", pad, hang=pad + 2))
        console.print(_para(Text("Root cause: ", style="bold") + Text(f.root_cause), pad))
        shown = {k: v for k, v in f.figures.items() if v.get("value") is not None}
        if shown:
            parts = []
            for name, fig in shown.items():
                label = fig.get("label", name)
                text = f"{label} {fig['value']}{(' ' + fig['unit']) if fig.get('unit') else ''}"
                if "objective" in fig:
                    ok = fig.get("met")
                    text += f" (objective {fig['objective']} {fig.get('unit', '')}".rstrip()
                    text += ", met)" if ok else ", NOT met)"
                parts.append(text)
            console.print(_para(Text("Figures: ", style="bold") + Text("; ".join(parts)), pad))
        if f.remediation:
            console.print(_para(Text("Remediation:", style="bold"), pad))
            for i, step in enumerate(f.remediation, 1):
                console.print(_para(f"{i}. {step}", pad + 2, hang=pad + 2 + len(f"{i}. ")))
        if f.evidence:
            console.print(_para(Text("Evidence:", style="bold"), pad))
            for ev in f.evidence[:8]:
                loc = Text(f"{short_time(ev.time)[5:]} UTC  {ev.node}  "
                           f"{_short_path(ev.file)}:{ev.line}", style="dim")
                console.print(_para(loc, pad + 2))
                console.print(_para(ev.text[:300], pad + 4))
            if len(f.evidence) > 8:
                console.print(_para(Text(f"... {len(f.evidence) - 8} more "
                                         "(--format json lists all)", style="dim"), pad + 2))
        if f.symptoms:
            console.print(_para(Text("Explains (symptoms of this cause):", style="bold"), pad))
            for s in f.symptoms:
                console.print(_para(f"- {s.rule} {s.title} ({s.severity}): "
                                    f"{_clip(s.root_cause, 240)}", pad + 2, hang=pad + 4))
        console.print()


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"


def _short_path(path: str) -> str:
    parts = path.split("/")
    return "/".join(parts[-2:]) if len(parts) > 2 else path


class _Indented:
    """Text wrapped to the console width with a left margin, and no trailing blanks.

    rich's Padding fills every line up to the full width with spaces, which a pipe or a
    file keeps; this wraps at word boundaries and ends each line where its text ends.
    """

    def __init__(self, text: Text, indent: int, hang: int | None = None) -> None:
        self.text, self.indent = text, indent
        self.hang = indent if hang is None else hang

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = self.text.wrap(console, max(20, options.max_width - self.indent))
        if not lines:
            return
        yield from self._line(console, lines[0], self.indent)
        if len(lines) == 1:
            return
        # the lines after the first hang at their own margin: wrap the rest to that width
        plain, start = self.text.plain, len(lines[0].plain)
        while start < len(plain) and plain[start] == " ":
            start += 1
        if start < len(plain) and plain[start] == "\n":
            start += 1
        for line in self.text[start:].wrap(console, max(20, options.max_width - self.hang)):
            yield from self._line(console, line, self.hang)

    @staticmethod
    def _line(console: Console, line: Text, margin: int) -> RenderResult:
        line.rstrip()
        yield Segment(" " * margin)
        yield from line.render(console)
        yield Segment.line()


def _para(text: str | Text, indent: int, hang: int | None = None) -> _Indented:
    return _Indented(text if isinstance(text, Text) else Text(text), indent, hang)


def _clip(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word boundary."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " ..."


def coverage_table(analysis: Analysis, coverage: list[dict[str, Any]]) -> Table:
    table = Table(title=None, pad_edge=False, box=None, show_edge=False)
    for col, just in (("node", "left"), ("source", "left"), ("files", "right"),
                      ("lines", "right"), ("unparsed", "right"), ("local span", "left")):
        table.add_column(col, justify=just, overflow="fold")  # type: ignore[arg-type]
    per: dict[tuple[str, str], list[FileReport]] = {}
    for r in analysis.analysed:
        per.setdefault((r.node or "-", r.format or "-"), []).append(r)
    ends_before = {(c["node"], c["source"]) for c in coverage if c.get("ends_before_incident")}
    for (node, source), reports in sorted(per.items()):
        firsts = [r.first for r in reports if r.first]
        lasts = [r.last for r in reports if r.last]
        span = (f"{min(firsts):%m-%d %H:%M:%S} .. {max(lasts):%H:%M:%S}" if firsts and lasts
                else "-")
        offs = {r.utc_offset_min for r in reports if r.utc_offset_min is not None}
        if len(offs) == 1:
            span += f" {fmt_offset(offs.pop())}"
        if (node, source) in ends_before:
            gap = next(c.get("ends_s_before_incident", 0) for c in coverage
                       if (c["node"], c["source"]) == (node, source))
            span += f"  ends {_duration(gap)} before the incident"
        unparsed = sum(r.unparsed for r in reports)
        table.add_row(node, source, str(len(reports)), str(sum(r.lines for r in reports)),
                      Text(str(unparsed), style="yellow" if unparsed else ""), span)
    return table


def render_terminal(analysis: Analysis, console: Console, diagnosis: Any = None,
                    show_unparsed: bool = False, max_events: int = 40) -> None:
    findings = diagnosis.findings if diagnosis else []
    outcomes = diagnosis.outcomes if diagnosis else []
    analysed = analysis.analysed
    start, end = analysis.span()
    nodes = [n.key for n in analysis.cluster.nodes]
    console.print(_para(Text(
        f"reformdiag: {len(analysed)} file(s), {sum(r.lines for r in analysed):,} lines, "
        f"{len(nodes)} node(s), {short_time(start)} .. {_hms(end)} UTC", style="bold"), 0))
    _heading(console, "Verdict")
    console.print(_para(verdict(findings, outcomes, len(analysed),
                                    diagnosis.episodes if diagnosis else None), 2))
    if findings:
        counts = Counter(f.severity for f in findings)
        _heading(console, "Findings (" + ", ".join(f"{n} {s}" for s, n in counts.items()) + ")")
        render_findings(findings, console)
    if diagnosis is not None:
        episodes = [e for e in diagnosis.episodes if e.kind in EPISODE_SHOWN]
        if episodes:
            _heading(console, f"Episodes ({len(episodes)})")
            for e in episodes[:max_events]:
                line = Text(f"{short_time(e.time)[5:]}  ", style="dim")
                line.append(f"{e.kind:<19} ", style="bold")
                line.append(e.message, style=LEVEL_STYLE.get(e.level, ""))
                console.print(_para(line, 0, hang=len(line.plain) - len(e.message)))
            if len(episodes) > max_events:
                console.print(Text(f"... {len(episodes) - max_events} more "
                                   "(reformdiag timeline --episodes)", style="dim"))
    else:
        notable = [e for e in analysis.events if is_notable(e)]
        _heading(console, f"Notable events ({len(notable)})")
        for e in notable[:max_events]:
            console.print(event_line(e))
    _heading(console, "Inputs and coverage")
    console.print(coverage_table(analysis, diagnosis.coverage if diagnosis else []))
    cmap = analysis.cluster
    console.print(_para(Text("cluster: ", style="bold") + Text("; ".join(
        n.label() + "".join(f", {word} {value}" for word, value in
                            (("CM node", n.cm_node), ("DSS", n.dss_instance)) if value is not None)
        for n in cmap.nodes) or "-"), 0, hang=2))
    for note in [*analysis.time_notes, *cmap.notes]:
        console.print(_para(Text(f"note: {note}", style="dim"), 0, hang=6))
    not_eval = [o for o in outcomes if o.status == "not evaluable"]
    if not_eval:
        missing = Counter(m for o in not_eval for m in o.missing)
        console.print(_para(Text(f"{len(not_eval)} rule(s) not evaluable; missing sources: "
                                 + ", ".join(f"{m} ({n} rule{'s' if n > 1 else ''})"
                                             for m, n in missing.most_common()),
                                 style="dim"), 0, hang=2))
    _render_problems(analysis, console, show_unparsed)


def _render_problems(analysis: Analysis, console: Console, show_unparsed: bool) -> None:
    bad = analysis.not_analysed
    notes = [(r.path, n) for r in analysis.analysed for n in r.notes]
    total = sum(r.unparsed for r in analysis.analysed)
    if not (bad or notes or total):
        return
    _heading(console, "Not analysed")
    for r in bad:
        console.print(_para(Text(f"{r.path}: {r.status}: {r.reason}"), 2, hang=4))
    for path, note in notes:
        console.print(_para(Text(f"{path}: {note}", style="yellow"), 2, hang=4))
    if total:
        reasons: Counter[str] = Counter(u.reason for r in analysis.analysed
                                        for u in r.unparsed_lines)
        console.print(_para(Text(f"{total} unparsed line(s)"
                                 + ("" if show_unparsed else " (list them with --show-unparsed)")
                                 + ": " + "; ".join(f"{n} x {why}"
                                                    for why, n in reasons.most_common())),
                            2, hang=4))
        if show_unparsed:
            for r in analysis.analysed:
                for u in r.unparsed_lines:
                    console.print(_para(Text(f"{u.file}:{u.line}: {u.reason}", style="dim"), 4))
                    console.print(_para(u.text[:200], 6))
