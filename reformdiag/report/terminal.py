"""Report stage: the terminal view (rich), readable at 80 columns and as plain text in pipes."""

from __future__ import annotations

from collections import Counter

from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from reformdiag.model import Event, FileReport, level_rank
from reformdiag.pipeline import Analysis
from reformdiag.report.common import short_time
from reformdiag.timeline.clock import fmt_offset
from reformdiag.timeline.frame import is_notable

LEVEL_STYLE = {"panic": "bold red", "fatal": "bold red", "error": "red", "warning": "yellow",
               "notice": "cyan", "info": "", "debug": "dim"}


def _span(r: FileReport) -> str:
    if r.first is None:
        return "-"
    first = r.first.strftime("%m-%d %H:%M:%S")
    last = r.last.strftime("%H:%M:%S") if r.last else "?"
    return f"{first}-{last}"


def inputs_table(analysis: Analysis) -> Table:
    table = Table(title="Inputs", title_justify="left", expand=False, pad_edge=False)
    table.add_column("file", overflow="fold", ratio=3)
    table.add_column("format", overflow="fold")
    table.add_column("node")
    table.add_column("lines", justify="right")
    table.add_column("parsed", justify="right")
    table.add_column("unparsed", justify="right")
    table.add_column("local time span (tz)", overflow="fold")
    for r in analysis.analysed:
        tz = f" {fmt_offset(r.utc_offset_min)}" if r.utc_offset_min is not None else ""
        table.add_row(escape(r.path), r.format or "-", r.node or "-", str(r.lines),
                      str(r.records + r.continuation),
                      Text(str(r.unparsed), style="yellow" if r.unparsed else ""),
                      _span(r) + tz)
    return table


def cluster_table(analysis: Analysis) -> Table:
    table = Table(title="Cluster map", title_justify="left", pad_edge=False)
    for col in ("node", "CM node", "DN instance", "DMS inst", "DSS instance", "from"):
        table.add_column(col, overflow="fold")
    for n in analysis.cluster.nodes:
        table.add_row(n.key, _s(n.cm_node), _s(n.dn_instance), _s(n.dms_inst),
                      _s(n.dss_instance), ", ".join(n.evidence))
    return table


def _s(value: object) -> str:
    return "-" if value is None else str(value)


def events_table(events: list[Event], title: str, wide: bool = False) -> Table:
    table = Table(title=title, title_justify="left", pad_edge=False)
    table.add_column("time (UTC)", no_wrap=True)
    table.add_column("node", no_wrap=True)
    table.add_column("level")
    table.add_column("event", overflow="fold")
    table.add_column("message", overflow="fold", ratio=4)
    if wide:
        table.add_column("file:line", overflow="fold")
    for e in events:
        row = [short_time(e.time)[5:], e.node, Text(e.level, style=LEVEL_STYLE.get(e.level, "")),
               e.kind, escape(e.message.split("\n", 1)[0][:300])]
        if wide:
            row.append(escape(f"{e.file}:{e.line}"))
        table.add_row(*row)
    return table


def not_analysed_lines(analysis: Analysis) -> list[str]:
    return [f"{r.path}: {r.status} - {r.reason}" for r in analysis.not_analysed]


def render_terminal(analysis: Analysis, console: Console, show_unparsed: bool = False,
                    max_events: int = 200) -> None:
    notable = [e for e in analysis.events if is_notable(e)]
    start, end = analysis.span()
    analysed = analysis.analysed
    console.print(
        f"[bold]reformdiag[/bold]: {len(analysed)} file(s) analysed, "
        f"{sum(r.lines for r in analysed)} lines, {len(analysis.events)} events kept, "
        f"{len(notable)} notable; span {short_time(start)} .. {short_time(end)} UTC"
    )
    console.print(inputs_table(analysis))
    console.print(cluster_table(analysis))
    for note in [*analysis.time_notes, *analysis.cluster.notes]:
        console.print(f"[dim]note:[/dim] {escape(note)}")
    shown = notable[:max_events]
    title = f"Notable events ({len(notable)})" + (
        f", first {max_events} shown (see `reformdiag timeline`)" if len(notable) > max_events
        else "")
    console.print(events_table(shown, title))
    _render_problems(analysis, console, show_unparsed)


def _render_problems(analysis: Analysis, console: Console, show_unparsed: bool) -> None:
    lines = not_analysed_lines(analysis)
    if lines:
        console.print(f"[bold]Not analysed ({len(lines)})[/bold]")
        for line in lines:
            console.print(f"  {escape(line)}")
    notes = [(r.path, n) for r in analysis.analysed for n in r.notes]
    for path, note in notes:
        console.print(f"[yellow]note[/yellow] {escape(path)}: {escape(note)}")
    total = sum(r.unparsed for r in analysis.analysed)
    if total:
        reasons: Counter[str] = Counter(u.reason for r in analysis.analysed
                                        for u in r.unparsed_lines)
        console.print(f"[bold]Unparsed lines: {total}[/bold] "
                      + ("" if show_unparsed else "(show them with --show-unparsed)"))
        for reason, count in reasons.most_common():
            console.print(f"  {count} x {escape(reason)}")
        if show_unparsed:
            for r in analysis.analysed:
                for u in r.unparsed_lines:
                    console.print(f"  {escape(u.file)}:{u.line}: {escape(u.reason)}\n"
                                  f"    {escape(u.text[:200])}")


def level_at_least(events: list[Event], level: str) -> list[Event]:
    return [e for e in events if level_rank(e.level) >= level_rank(level)]


__all__ = ["render_terminal", "events_table", "Group"]
