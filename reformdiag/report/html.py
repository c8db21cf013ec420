"""Report stage: the incident report as one self-contained HTML page.

For the people an incident report is forwarded to: the verdict, the findings (root cause,
numbered remediation, figures against their objectives, evidence lines with file:line, node
and UTC time), the timeline picture, the episodes, every notable event, and what was read.

Self-contained means it opens offline and prints: the CSS is inline, the picture is inline
SVG drawn in Python (``svg_timeline.py``), and there is no script, web font, image or URL.
The page comes from a Jinja template with autoescaping on, so every log text is escaped
(a log line with ``<script>`` stays text); the only markup inserted as-is is the SVG, which
escapes its own text.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from reformdiag.report.common import duration
from reformdiag.report.svg_timeline import render_svg
from reformdiag.report.timeline_layout import build_layout, node_label, number_evidence

TEMPLATES = Path(__file__).resolve().parent / "templates"
SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")


def prose(text: str) -> Markup:
    """Escaped text whose `backtick` spans become <code> (rule texts quote commands so)."""
    parts = re.split(r"`([^`]+)`", text)
    out = []
    for i, part in enumerate(parts):
        out.append(f"<code>{escape(part)}</code>" if i % 2 else str(escape(part)))
    return Markup("".join(out))


def when(text: str | None, date: bool = True) -> str:
    """``2024-09-19T09:14:12.592Z`` as ``2024-09-19 09:14:12.592`` (or the time alone)."""
    if not text:
        return "?"
    plain = text.replace("T", " ").rstrip("Z")
    return plain if date else plain[11:]


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["prose"] = prose
    env.filters["when"] = when
    return env


def _figure_rows(figures: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for name, fig in figures.items():
        if fig.get("value") is None:
            continue
        unit = fig.get("unit") or ""
        rows.append({"label": fig.get("label", name), "value": f"{fig['value']} {unit}".strip(),
                     "objective": (f"{fig['objective']} {unit}".strip()
                                   if "objective" in fig else ""),
                     "met": fig.get("met")})
    return rows


def page_context(doc: dict[str, Any], sources: list[str] | None = None,
                 rules: list[Any] | None = None) -> dict[str, Any]:
    """Everything the template shows, worked out from the JSON report document."""
    findings = doc["findings"]
    event_index = {(e["file"], e["line"]): i for i, e in enumerate(doc["notable_events"])}
    evidence_of: dict[int, list[int]] = {}
    cards = []
    for f, nums in zip(findings, number_evidence(findings), strict=True):
        evidence = []
        for ev, num in zip(f["evidence"], nums, strict=True):
            row = event_index.get((ev["file"], ev["line"]))
            if row is not None:
                evidence_of.setdefault(row, []).append(num)
            evidence.append({**ev, "num": num, "row": row})
        cards.append({**f, "evidence": evidence, "figure_rows": _figure_rows(f["figures"]),
                      "symptoms": [{**s, "figure_rows": _figure_rows(s["figures"])}
                                   for s in f.get("symptoms", [])]})
    by_rule = {r.id: r for r in rules or []}
    layout = build_layout(doc)
    outcomes = doc["rules"]
    status = Counter(o["status"] for o in outcomes)
    missing = Counter(m for o in outcomes if o["status"] == "not evaluable" for m in o["missing"])
    analysed = [i for i in doc["inputs"] if i["status"] == "analysed"]
    nodes = [{**n, "label": node_label(n)} for n in doc["cluster"]]
    severity_counts = Counter(f["severity"] for f in findings)
    top = findings[0] if findings else None
    title = (f"{top['severity'].upper()}: {top['title']}" if top
             else "No known failure signature matched")
    unparsed_reasons = Counter(u["reason"] for u in doc["unparsed"])
    return {
        "doc": doc, "title": title, "top": top, "sources": sources or [],
        "findings": cards, "rules_by_id": by_rule,
        "severity_counts": [(s, severity_counts[s]) for s in SEVERITY_ORDER
                            if severity_counts[s]],
        "picture": Markup(render_svg(layout)) if layout else None, "layout": layout,
        "evidence_of": evidence_of,
        "fired": [o for o in outcomes if o["status"] == "fired"],
        "not_evaluable": [o for o in outcomes if o["status"] == "not evaluable"],
        "passed": [o for o in outcomes if o["status"] == "passed"],
        "status_counts": status, "missing": missing.most_common(),
        "analysed": analysed, "not_analysed": [i for i in doc["inputs"]
                                               if i["status"] != "analysed"],
        "lines": sum(i["lines"] for i in analysed), "nodes": nodes,
        "coverage_gaps": [{**c, "gap": duration(c.get("ends_s_before_incident") or 0)}
                          for c in doc["coverage"] if c.get("ends_before_incident")],
        "unparsed_reasons": unparsed_reasons.most_common(),
        "file_notes": [(i["path"], n) for i in analysed for n in i.get("notes") or []],
    }


def render_html(doc: dict[str, Any], sources: list[str] | None = None,
                rules: list[Any] | None = None) -> str:
    """The whole page, from a report document (``json_report.report_dict``)."""
    env = _environment()
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    return env.get_template("report.html.j2").render(css=Markup(css),
                                                     **page_context(doc, sources, rules))
