"""Report stage: the incident report as Markdown (GitHub/GitLab flavoured, CommonMark safe).

The same content as the HTML page, for tickets, chat and wikis: verdict, findings (root
cause, figures, numbered remediation, evidence with file:line, node and UTC time), a text
timeline (a Markdown viewer will not run an SVG), the episodes and every notable event.

Log text is never trusted as Markdown: prose is escaped character by character, log lines
go into code spans or fenced blocks whose fence is longer than any backtick run inside, so
a line with ``<script>`` or ``*`` stays text in any renderer.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from reformdiag.report.common import duration
from reformdiag.report.html import when
from reformdiag.report.timeline_layout import (
    Layout,
    build_layout,
    level_class,
    node_label,
    number_evidence,
)

# Backslash escapes any ASCII punctuation in CommonMark; these are the ones that can make
# markup anywhere in a line (emphasis, code, links, HTML, entities, tables, strikethrough).
# An underscore between two word characters cannot open emphasis, so dn_6001 stays as is.
_SPECIAL = re.compile(r"[\\`*\[\]<>|&~]|(?<!\w)_|_(?!\w)")
_LINE_START = re.compile(r"^(?:([#>+=-])|(\d+)([.)]))")
CHART_WIDTH = 64


def text(value: object) -> str:
    """Plain text that no Markdown renderer turns into markup, inside a line."""
    return _SPECIAL.sub(lambda m: "\\" + m.group(0), re.sub(r"\s+", " ", str(value)))


def paragraph(value: str) -> str:
    """``prose`` that starts a line: a heading, quote or list marker there is escaped too."""
    return _LINE_START.sub(lambda m: "\\" + m.group(1) if m.group(1)
                           else m.group(2) + "\\" + m.group(3), prose(value))


def code(value: object, table: bool = False) -> str:
    """A code span that holds ``value`` literally, whatever backticks it contains."""
    s = " ".join(str(value).split())
    if table:
        s = s.replace("|", "\\|")  # GFM splits table cells before code spans
    longest = max((len(run) for run in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or not s.strip() else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def block(value: str, indent: str = "") -> str:
    """A fenced code block for a log line; the fence outlasts any backtick run inside."""
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * max(3, longest + 1)
    lines = [fence, *value.splitlines(), fence]
    return "\n".join(indent + line for line in lines)


def prose(value: str) -> str:
    """Rule texts: escaped, with their `backtick` spans kept as code spans."""
    parts = re.split(r"`([^`]+)`", value)
    return "".join(code(p) if i % 2 else text(p) for i, p in enumerate(parts))


def cell(value: object) -> str:
    """A table cell: escaped text, pipes included."""
    return text(value) if value not in (None, "") else "-"


def _table(head: list[str], rows: list[list[str]], right: set[int] | None = None) -> list[str]:
    align = ["---:" if right and i in right else "---" for i in range(len(head))]
    out = ["| " + " | ".join(head) + " |", "| " + " | ".join(align) + " |"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def text_chart(layout: Layout, width: int = CHART_WIDTH) -> list[str]:
    """The timeline picture in characters: one row per node, one for its episodes."""
    def col(moment: Any) -> int:
        return min(width - 1, max(0, int(layout.fraction(moment) * (width - 1) + 0.5)))

    name_w = min(16, max([len(ln.node) for ln in layout.lanes] + [len("incident")]) + 1)
    axis = [" "] * width
    step_ticks = layout.ticks(target=max(2, width // 14))
    for (step, ticks) in step_ticks:
        for t in ticks:
            label = t.strftime("%H:%M:%S") if step < 60 else t.strftime("%H:%M")
            c = col(t)
            if c + len(label) <= width and all(ch == " " for ch in axis[max(0, c - 1):c + len(label) + 1]):
                axis[c:c + len(label)] = list(label)
    lines = [f"{'UTC':<{name_w}} {''.join(axis).rstrip()}"]
    rank = {"other": 1, "warning": 2, "error": 3, "evidence": 4}
    symbol = {"other": "o", "warning": "!", "error": "X", "evidence": "*"}
    for lane in layout.lanes:
        row = [" "] * width
        for m in lane.marks:
            if not layout.in_view(m.time):
                continue
            c = col(m.time)
            cls = "evidence" if m.evidence else m.cls
            if rank[cls] > rank.get(_cls_of(row[c]), 0):
                row[c] = symbol[cls]
        bars = [" "] * width
        for bar in lane.bars:
            fill = {"failed": "x", "other": "~"}.get(bar.tone, "=")
            for c in range(col(max(bar.start, layout.view_start)),
                           col(min(bar.end, layout.view_end)) + 1):
                if bars[c] != "x":
                    bars[c] = fill
        for a, b, _ in layout.breaks():
            c = int(((a + b) / 2) * (width - 1) + 0.5)
            row[c] = bars[c] = "/"
        name = lane.node if len(lane.node) < name_w else lane.node[:name_w - 2] + "~"
        lines.append(f"{name:<{name_w}}|{''.join(row)}|"
                     + (f" {lane.before} earlier" if lane.before else "")
                     + (f" {lane.after} later" if lane.after else ""))
        if any(ch != " " and ch != "/" for ch in bars):
            lines.append(f"{'':<{name_w}}|{''.join(bars)}|")
    if layout.incident is not None:
        under = [" "] * width
        for c in range(col(layout.incident[0]), col(layout.incident[1]) + 1):
            under[c] = "^"
        lines.append(f"{'incident':<{name_w}} {''.join(under).rstrip()} "
                     + ", ".join(layout.incident_rules))
    lines.append("")
    lines.append("o event  ! warning  X error  * evidence line  "
                 "=== episode (~~~ went wrong, xxx failed)")
    gaps = [duration(gap.total_seconds()) for _, _, gap in layout.breaks()]
    if gaps:
        lines.append("/ a quiet gap cut out of the axis: " + ", ".join(gaps)
                     + " (from left to right)")
    return lines


def _cls_of(ch: str) -> str:
    return {"o": "other", "!": "warning", "X": "error", "*": "evidence"}.get(ch, "")


def _figures(figures: dict[str, dict[str, Any]]) -> list[str]:
    rows = []
    for name, fig in figures.items():
        if fig.get("value") is None:
            continue
        unit = fig.get("unit") or ""
        objective, met = "", ""
        if "objective" in fig:
            objective = f"{fig['objective']} {unit}".strip()
            met = "met" if fig.get("met") else "**not met**"
        rows.append([cell(fig.get("label", name)), cell(f"{fig['value']} {unit}".strip()),
                     cell(objective) if objective else "", met])
    return _table(["figure", "value", "objective", ""], rows, {1, 2}) if rows else []


def render_markdown(doc: dict[str, Any], sources: list[str] | None = None,
                    rules: list[Any] | None = None) -> str:
    """The report document (``json_report.report_dict``) as one Markdown file."""
    findings = doc["findings"]
    analysed = [i for i in doc["inputs"] if i["status"] == "analysed"]
    top = findings[0] if findings else None
    title = f"{top['severity'].upper()}: {top['title']}" if top else \
        "No known failure signature matched"
    out = [f"# reformdiag incident report: {text(title)}", ""]
    meta = []
    if sources:
        meta.append("Bundle: " + ", ".join(code(s) for s in sources))
    meta.append(f"{len(analysed)} file(s), {sum(i['lines'] for i in analysed):,} lines, "
                f"{len(doc['cluster'])} node(s)")
    meta.append(f"logs from {when(doc['span']['start'])} to {when(doc['span']['end'])} UTC")
    out += [" · ".join(meta), "", "## Verdict", ""]
    if doc.get("max_severity"):
        counts = Counter(f["severity"] for f in findings)
        out += [" · ".join(f"**{n} {s.upper()}**" for s, n in counts.items()), ""]
    out += [paragraph(doc["verdict"]), ""]
    by_rule = {r.id: r for r in rules or []}
    if findings:
        out += ["## Findings", ""]
    for f, nums in zip(findings, number_evidence(findings), strict=True):
        out += [f"### {f['severity'].upper()} · {text(f['rule'])} {text(f['title'])}", ""]
        if f["references"]:
            out.append(f"- **Documented case:** {', '.join(code(r) for r in f['references'])}")
        out.append(f"- **Nodes:** {text(', '.join(f['nodes']) or '-')}")
        out.append(f"- **Window:** {when(f['start'])} .. {when(f['end'], False)} UTC")
        if f["rule"] in by_rule:
            out.append(f"- **Rule:** {prose(' '.join(by_rule[f['rule']].description.split()))}")
        out += ["", f"**Root cause.** {prose(f['root_cause'])}", ""]
        fig = _figures(f["figures"])
        if fig:
            out += ["**Figures**", "", *fig, ""]
        out += ["**Remediation**", ""]
        out += [f"{i}. {prose(step)}" for i, step in enumerate(f["remediation"], 1)]
        out.append("")
        if f["evidence"]:
            out += ["**Evidence** (the numbers of the timeline)", ""]
            for ev, num in zip(f["evidence"], nums, strict=True):
                out.append(f"{num}. {when(ev['time'])} UTC · **{text(ev['node'])}** · "
                           f"{code(str(ev['file']) + ':' + str(ev['line']))}"
                           + (f" · {code(ev['kind'])}" if ev.get("kind") else ""))
                out += [block(ev["text"], "   "), ""]
        if f.get("symptoms"):
            out += ["**Explains (symptoms of this cause)**", ""]
            for s in f["symptoms"]:
                out.append(f"- **{s['severity'].upper()} {text(s['rule'])} {text(s['title'])}** "
                           f"({text(', '.join(s['nodes']))}; {when(s['start'])} .. "
                           f"{when(s['end'], False)} UTC): {prose(s['root_cause'])}")
            out.append("")
    layout = build_layout(doc)
    if layout is not None:
        out += ["## Timeline", ""]
        if layout.zoomed:
            out += [f"Around the incident: {layout.view_start:%Y-%m-%d %H:%M:%S} .. "
                    f"{layout.view_end:%H:%M:%S} UTC (the logs run from "
                    f"{layout.start:%Y-%m-%d %H:%M} to {layout.end:%Y-%m-%d %H:%M} UTC).", ""]
        out += ["```text", *text_chart(layout), "```", ""]
    out += [f"## Episodes ({len(doc['episodes'])})", ""]
    if doc["episodes"]:
        out += _table(["start (UTC)", "end", "node", "episode", "what happened"],
                      [[when(e["start"]), when(e["end"], False) if e.get("end") else "",
                        cell(e["node"]), cell(e["kind"]), cell(e["summary"])]
                       for e in doc["episodes"]])
    else:
        out.append("No reform round, failover, switchover or membership episode in these logs.")
    evidence_rows = {(ev["file"], ev["line"]): n for f, nums in
                     zip(findings, number_evidence(findings), strict=True)
                     for ev, n in zip(f["evidence"], nums, strict=True)}
    out += ["", f"## Notable events ({len(doc['notable_events'])})", "",
            "Warning level and above, and every named event that is not routine; "
            "`*n` marks evidence line n.", ""]
    rows = []
    for e in doc["notable_events"]:
        mark = evidence_rows.get((e["file"], e["line"]))
        level = e["level"] if level_class(e["level"]) == "other" else f"**{e['level']}**"
        rows.append([(f"\\*{mark} " if mark else "") + when(e["time"]), cell(e["node"]), level,
                     code(e["kind"], table=True),
                     code(e["message"].split("\n", 1)[0][:500], table=True),
                     code(f"{e['file']}:{e['line']}", table=True)])
    out += _table(["time (UTC)", "node", "level", "event", "message", "file:line"], rows)
    out += _rules(doc) + _inputs(doc, analysed) + _not_analysed(doc)
    out += ["", "---", "",
            f"Generated by reformdiag {text(doc['tool']['version'])} "
            f"(report schema {text(doc['schema_version'])}). Times are UTC unless marked local."]
    return "\n".join(out) + "\n"


def _rules(doc: dict[str, Any]) -> list[str]:
    outcomes = doc["rules"]
    status = Counter(o["status"] for o in outcomes)
    out = ["", "## Rules", "",
           f"{len(outcomes)} rule(s) applied: {status['fired']} fired, {status['passed']} found "
           f"nothing, {status['not evaluable']} could not be evaluated.", ""]
    rows = []
    for o in sorted(outcomes, key=lambda o: ("fired", "not evaluable", "passed").index(o["status"])
                    if o["status"] in ("fired", "not evaluable", "passed") else 3):
        result = {"fired": f"**fired** ({o['findings']})",
                  "not evaluable": "not evaluable: missing " + text(", ".join(o["missing"])),
                  }.get(o["status"], "nothing found")
        rows.append([code(o["rule"], table=True), o["severity"], cell(o["title"]), result])
    return out + _table(["rule", "severity", "title", "result"], rows)


def _inputs(doc: dict[str, Any], analysed: list[dict[str, Any]]) -> list[str]:
    out = ["", "## Inputs and coverage", ""]
    out += _table(["file", "format", "node", "lines", "events", "unparsed", "local span"],
                  [[code(i["path"], table=True), cell(i["format"]), cell(i["node"]),
                    f"{i['lines']:,}", str(i["events"]), str(i["unparsed"]),
                    (f"{i['first']} .. {(i['last'] or '')[11:]} {i.get('utc_offset') or ''}".strip()
                     if i.get("first") else "-")] for i in analysed], {3, 4, 5})
    gaps = [c for c in doc["coverage"] if c.get("ends_before_incident")]
    notes = [f"{text(c['node'])} {text(c['source'])} ends "
             f"{duration(c.get('ends_s_before_incident') or 0)} before the incident."
             for c in gaps]
    notes += [text(n) for n in [*doc.get("time_notes", []), *doc.get("cluster_notes", [])]]
    out += ["", "**Cluster**", ""]
    out += _table(["node", "other names", "host", "identified by"],
                  [[f"**{text(n['node'])}**", cell(node_label(n)), cell(n.get("host")),
                    cell(", ".join(n.get("evidence") or []))] for n in doc["cluster"]])
    if notes:
        out += [""] + [f"- {n}" for n in notes]
    return out


def _not_analysed(doc: dict[str, Any]) -> list[str]:
    bad = [i for i in doc["inputs"] if i["status"] != "analysed"]
    notes = [(i["path"], n) for i in doc["inputs"] if i["status"] == "analysed"
             for n in i.get("notes") or []]
    if not (bad or notes or doc["unparsed"]):
        return []
    out = ["", "## Not analysed", ""]
    out += [f"- {code(i['path'])}: {text(i['status'])}"
            + (f": {text(i['reason'])}" if i.get("reason") else "") for i in bad]
    out += [f"- {code(path)}: {text(note)}" for path, note in notes]
    if doc["unparsed"]:
        reasons = Counter(u["reason"] for u in doc["unparsed"])
        out += ["", f"{len(doc['unparsed'])} unparsed line(s): "
                + "; ".join(f"{n} × {text(why)}" for why, n in reasons.most_common()), ""]
        out += _table(["file:line", "reason", "text"],
                      [[code(f"{u['file']}:{u['line']}", table=True), cell(u["reason"]),
                        code(u["text"][:300], table=True)] for u in doc["unparsed"][:200]])
    return out
