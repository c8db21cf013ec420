"""Diagnose stage: run the rules over the timeline and its episodes, and build findings.

Per rule: check that the sources it requires are in the bundle (else "not evaluable", never
silence), evaluate its condition, merge matches that belong to one incident, render the root
cause and remediation with the captured values, compute its figures, quote its evidence.
Then fold symptoms under their cause (a rule's ``explains``) and order by severity and time.
"""

from __future__ import annotations

import marshal
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from reformdiag.diagnose.condition import Evaluator, Match
from reformdiag.diagnose.episodes import EPISODE, build_episodes

__all__ = ["Diagnosis", "build_episodes", "diagnose"]
from reformdiag.diagnose.rules import Rule, jinja_version, templates
from reformdiag.diagnose.select import compile_selection
from reformdiag.model import (
    SEVERITY_RANK,
    Event,
    Evidence,
    FileReport,
    Finding,
    RuleOutcome,
)
from reformdiag.timeline.clock import shifted, stamp
from reformdiag.timeline.cluster import ClusterMap

if TYPE_CHECKING:
    from jinja2 import Template

INCIDENT_GAP = timedelta(minutes=5)  # matches of one rule closer than this are one incident
MAX_EVIDENCE = 12
# Fields that name another node involved (the peer that disconnected, the node kicked out...);
# ``involved_nodes`` is the generic list an episode gives (both presidents, old and new leader).
NODE_FIELDS = ("subject_node", "peer_node", "cause_node", "primaries", "involved_nodes")
FOLD_MARGIN = timedelta(minutes=5)
# Event-driven logs are quiet for hours when all is well: their end says nothing about coverage.
SPARSE_SOURCES = frozenset({"cm_key_event_log", "dms_run_log", "dss_run_log", "cm_ctl_query"})
COVERAGE_SLACK = timedelta(seconds=60)


@dataclass
class Diagnosis:
    findings: list[Finding]
    outcomes: list[RuleOutcome]
    episodes: list[Event]
    coverage: list[dict[str, Any]] = field(default_factory=list)

    def all_findings(self) -> list[Finding]:
        out = []
        for f in self.findings:
            out.append(f)
            out.extend(f.symptoms)
        return out


class _Fields(dict):  # type: ignore[type-arg]
    """Event fields for templates: a field the event lacks reads as none, not an error."""

    def __getattr__(self, name: str) -> Any:
        return self.get(name)


class _EventView:
    """What a diagnosis template sees of an event: ``{{ sel_fail.node }}`` etc."""

    def __init__(self, ev: Event, cluster: ClusterMap) -> None:
        self._ev = ev
        self._cluster = cluster
        self.node = ev.node
        self.fields = _Fields(ev.fields)
        self.message = ev.message.split("\n", 1)[0]
        self.kind = ev.kind
        self.time = f"{stamp(ev.time)} UTC" if ev.time else "?"
        self.file = ev.file
        self.line = ev.line

    @property
    def end(self) -> str:
        """End of an episode (its last line), as text."""
        end = self.fields.get("end")
        return f"{stamp(end)} UTC" if isinstance(end, datetime) else self.time

    @property
    def label(self) -> str:
        return node_label(self._cluster, self.node)

    def __getattr__(self, name: str) -> Any:
        fields = self.__dict__.get("fields", {})
        if name in fields:
            return fields[name]
        raise AttributeError(name)

    def __str__(self) -> str:
        return self.message


def node_label(cluster: ClusterMap, key: str | None) -> str:
    if not key:
        return "?"
    node = next((n for n in cluster.nodes if n.key == key), None)
    return node.label() if node else key


def _available(inputs: list[FileReport]) -> dict[str, set[str]]:
    """Source name -> nodes that have it (from the analysed files)."""
    out: dict[str, set[str]] = {}
    for r in inputs:
        if r.status == "analysed" and r.format:
            out.setdefault(r.format, set()).add(r.node or "-")
    return out


def _missing(rule: Rule, available: dict[str, set[str]]) -> list[str]:
    missing = [s for s in rule.requires_all if s not in available]
    if rule.requires_any and not any(s in available for s in rule.requires_any):
        missing.append(" or ".join(sorted(rule.requires_any)))  # one wording per set
    return missing


# file -> line numbers wanted -> {(file, line): text}: reads evidence lines again
Quote = Callable[[dict[str, set[int]]], dict[tuple[str, int], str]]


def diagnose(events: list[Event], inputs: list[FileReport], cluster: ClusterMap,
             rules: list[Rule], quote: Quote | None = None) -> Diagnosis:
    episodes = build_episodes(events)
    # timed first, in time order (a stable sort on the datetime itself: a key tuple per event
    # cost 3 MB at 4 GB), then the untimed ones in their order
    pool = [e for e in (*events, *episodes) if e.time is not None]
    pool.sort(key=attrgetter("time"))
    pool.extend(e for e in events if e.time is None)
    by_kind: dict[str, list[Event]] = {}
    by_source: dict[str, list[Event]] = {}
    for ev in pool:
        by_kind.setdefault(ev.kind, []).append(ev)
        by_source.setdefault(ev.source, []).append(ev)
    times = [e.time for e in events if e.time is not None]
    bundle_end = max(times) if times else None
    available = _available(inputs)
    available.setdefault(EPISODE, {"-"})
    # A rule of a system with no file in the bundle does not apply (an NDB bundle has no
    # openGauss rule to evaluate, rather than dozens "not evaluable").
    systems = {r.system for r in inputs if r.status == "analysed" and r.system}
    findings: list[Finding] = []
    outcomes: list[RuleOutcome] = []
    unquoted: list[tuple[Evidence, str]] = []
    node_names: list[str] | None = None  # for group-by-node rules, worked out once
    for rule in rules:
        if systems and not systems & set(rule.systems):
            continue
        missing = _missing(rule, available)
        if missing:
            outcomes.append(RuleOutcome(rule.id, rule.name, rule.title, rule.level,
                                        "not evaluable", missing=missing))
            continue

        def select(name: str, rule: Rule = rule) -> list[Event]:
            # called once per name: the Evaluator keeps what it gets
            names = ([n for n in rule.selections if n.startswith(name[:-1])]
                     if name.endswith("*") else [name])
            picked: list[Event] = []
            for n in names:
                sel = rule.selections[n]
                kinds, sources = sel.get("kind"), sel.get("source")
                if kinds is not None:
                    candidates = [e for k in ([kinds] if isinstance(kinds, str) else kinds)
                                  for e in by_kind.get(k, [])]
                elif sources is not None:
                    candidates = [e for s in ([sources] if isinstance(sources, str)
                                              else sources) for e in by_source.get(s, [])]
                else:
                    candidates = pool
                picked.extend(filter(compile_selection(sel), candidates))
            return picked

        evaluator = Evaluator(select, bundle_end)
        if rule.condition.group_by_node:
            if node_names is None:
                node_names = sorted({e.node for e in pool if e.node})
            matched = [m for n in node_names for m in evaluator.run(rule.condition, n)]
        else:
            matched = evaluator.run(rule.condition)
        incidents = _incidents(matched)
        rule_findings = [_finding(rule, inc, cluster, unquoted) for inc in incidents]
        findings.extend(rule_findings)
        outcomes.append(RuleOutcome(rule.id, rule.name, rule.title, rule.level,
                                    "fired" if rule_findings else "passed",
                                    findings=len(rule_findings)))
    if quote is not None and unquoted:
        _quote(unquoted, quote)
    findings = _fold(findings, rules)
    findings.sort(key=lambda f: (-SEVERITY_RANK[f.severity], f.start or datetime.max, f.rule))
    return Diagnosis(findings, outcomes, episodes, coverage(inputs, findings))


def _incidents(matched: list[Match]) -> list[list[Match]]:
    """Group matches into incidents: a match joins a group when it starts within INCIDENT_GAP
    of the group's end and shares a node with any match already in it."""
    groups: list[tuple[list[Match], set[str], datetime | None]] = []
    for m in sorted(matched, key=lambda m: (m.start is None, m.start or datetime.min)):
        nodes = set(m.nodes)
        for i, (members, g_nodes, g_end) in enumerate(groups):
            near = m.start is None or g_end is None or m.start - g_end <= INCIDENT_GAP
            if near and (nodes & g_nodes or not nodes or not g_nodes):
                members.append(m)
                ends = [t for t in (g_end, m.end) if t is not None]
                groups[i] = (members, g_nodes | nodes, max(ends) if ends else None)
                break
        else:
            groups.append(([m], nodes, m.end))
    return [members for members, _, _ in groups]


def _quote(unquoted: list[tuple[Evidence, str]], quote: Quote) -> None:
    """Evidence lines read again from their files, in one pass per file. A line that no
    longer holds the event's message (the file was rewritten since) is not quoted: the
    evidence keeps the message."""
    wanted: dict[str, set[int]] = {}
    for ev, _ in unquoted:
        wanted.setdefault(ev.file, set()).add(ev.line)
    texts = quote(wanted)
    for ev, message in unquoted:
        text = texts.get((ev.file, ev.line))
        if text and " ".join(message.split()) in " ".join(text.split()):
            ev.text = text


def _finding(rule: Rule, group: list[Match], cluster: ClusterMap,
             unquoted: list[tuple[Evidence, str]] | None = None) -> Finding:
    match = group[0]
    for other in group[1:]:
        match = match.merged(other)
    first = group[0]
    ctx: dict[str, Any] = {}
    for name, evs in match.events.items():
        views = [_EventView(e, cluster) for e in evs]
        ctx[name] = views[0]
        ctx[f"all_{name}"] = views
        ctx[f"count_{name}"] = len(views)
    for name in rule.selections:  # selections that did not take part are still known
        ctx.setdefault(name, None)
        ctx.setdefault(f"all_{name}", [])
        ctx.setdefault(f"count_{name}", 0)
    nodes = sorted({e.node for e in match.all_events if e.node and e.node != "cluster"})
    known = {c.key for c in cluster.nodes}
    named = {str(v) for e in match.all_events for k in NODE_FIELDS
             for v in _as_list(e.fields.get(k)) if v}
    nodes = sorted(set(nodes) | (named & known))
    ctx["nodes"] = [node_label(cluster, n) for n in nodes]
    ctx["node"] = node_label(cluster, (first.nodes or nodes or ["?"])[0])
    ctx["occurrences"] = len(group)
    ctx["label"] = lambda key: node_label(cluster, key)
    figures = _figures(rule, match, ctx)
    ctx.update({k: v["value"] for k, v in figures.items()})
    root_cause = _render(rule, "root_cause", rule.root_cause, ctx)
    remediation = _steps(_render(rule, "remediation", rule.remediation, ctx))
    evidence = _evidence(rule, match, unquoted)
    return Finding(
        rule=rule.id, name=rule.name, title=rule.title, severity=rule.level,
        references=rule.references, nodes=nodes, start=match.start, end=match.end,
        root_cause=root_cause, remediation=remediation, figures=figures, evidence=evidence,
    )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _render(rule: Rule, key: str, text: str, ctx: dict[str, Any]) -> str:
    from jinja2 import UndefinedError  # only when a rule fires (see rules.templates)

    try:
        return " ".join(_template(rule, text).render(**ctx).split()) \
            if key == "root_cause" else _template(rule, text).render(**ctx).strip()
    except (UndefinedError, AttributeError, TypeError) as exc:
        # a value the rule expected is not in this match: say so rather than crash
        return f"{text.strip()}  [template value missing: {exc}]"


def _template(rule: Rule, text: str) -> Template:
    """The compiled template of one of the rule's texts: from the code the rule loader kept
    (rules.py), else compiled here (~1.7 ms); once per text, not per finding."""
    got = _TEMPLATES.get(text)
    if got is None:
        env = templates()
        code = rule.template_code.get(text)
        if code is not None and rule.template_engine == jinja_version():
            got = env.template_class.from_code(env, marshal.loads(code), env.make_globals(None),
                                               None)
        else:  # a rule built by hand, or code from another Jinja
            got = env.from_string(text)
        _TEMPLATES[text] = got
    return got


_TEMPLATES: dict[str, Template] = {}


def _steps(text: str) -> list[str]:
    steps: list[str] = []
    for line in text.splitlines():
        line = line.rstrip()
        if not line:
            continue
        m = re.match(r"^\s*\d+[.)]\s+(.*)$", line)
        if m or not steps:
            steps.append(m.group(1) if m else line.strip())
        else:
            steps[-1] += " " + line.strip()
    return steps


def _figures(rule: Rule, match: Match, ctx: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, spec in rule.figures.items():
        value: Any = None
        if "from" in spec and "to" in spec:
            a = match.events.get(spec["from"], [])
            b = match.events.get(spec["to"], [])
            if a and b and a[0].time and b[-1 if spec.get("last") else 0].time:
                value = round((b[-1 if spec.get("last") else 0].time - a[0].time)
                              .total_seconds(), 3)
        elif "count" in spec:
            value = len(match.events.get(spec["count"], []))
        elif "value" in spec:
            from jinja2 import UndefinedError

            try:
                rendered = _template(rule, str(spec["value"])).render(**ctx).strip()
            except (UndefinedError, AttributeError, TypeError):
                rendered = ""
            value = _number(rendered)
        fig: dict[str, Any] = {"value": value, "unit": spec.get("unit", "")}
        if "objective" in spec:
            fig["objective"] = spec["objective"]
            fig["met"] = None if value is None else value <= float(spec["objective"])
        if spec.get("label"):
            fig["label"] = spec["label"]
        out[name] = fig
    return out


def _number(text: str) -> Any:
    if text in ("", "None"):
        return None
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text else round(number, 3)


def _evidence(rule: Rule, match: Match, unquoted: list[tuple[Evidence, str]] | None = None
              ) -> list[Evidence]:
    """The lines a finding quotes. An event read from a log file does not keep its raw
    text: its evidence shows the message until ``_quote`` reads the line again (into
    ``unquoted`` meanwhile)."""
    names = rule.evidence or list(match.events)
    out: list[Evidence] = []
    seen: set[int] = set()
    for name in names:
        for ev in match.events.get(name, []):
            lines = ev.fields.get("parts") if ev.source == EPISODE else [ev]
            for line_ev in lines or []:
                if id(line_ev) in seen or len(out) >= MAX_EVIDENCE:
                    continue
                seen.add(id(line_ev))
                texts = (line_ev.raw or line_ev.message).split("\n")
                # a record joined from several log lines (an RHB matrix print) is quoted line
                # by line, as the log has them; other records by their first line
                for i in range(len(texts) if line_ev.fields.get("joined") else 1):
                    if len(out) >= MAX_EVIDENCE:
                        break
                    quoted = Evidence(role=name, time=line_ev.time, node=line_ev.node,
                                      file=line_ev.file, line=line_ev.line + i, text=texts[i],
                                      kind=line_ev.kind)
                    out.append(quoted)
                    if not line_ev.raw and unquoted is not None and line_ev.source != EPISODE:
                        unquoted.append((quoted, quoted.text))
    out.sort(key=lambda e: (e.time is None, e.time or datetime.min))
    return out


def _fold(findings: list[Finding], rules: list[Rule]) -> list[Finding]:
    """Put findings a cause explains under it (same nodes or cluster-wide, nearby in time)."""
    explains = {r.id: set(r.explains) for r in rules}
    causes = sorted(findings, key=lambda f: -SEVERITY_RANK[f.severity])
    folded: set[int] = set()
    for cause in causes:
        if id(cause) in folded:
            continue
        for other in findings:
            if other is cause or id(other) in folded or other.rule not in explains.get(
                    cause.rule, set()):
                continue
            if not _near(cause, other):
                continue
            if other.nodes and cause.nodes and not set(other.nodes) & set(cause.nodes):
                continue
            cause.symptoms.append(other)
            folded.add(id(other))
    return [f for f in findings if id(f) not in folded]


def _near(a: Finding, b: Finding) -> bool:
    if a.start is None or b.start is None:
        return True
    lo = a.start - FOLD_MARGIN
    hi = (a.end or a.start) + FOLD_MARGIN
    return lo <= b.start <= hi


def coverage(inputs: list[FileReport], findings: list[Finding]) -> list[dict[str, Any]]:
    """Per node and source: the local time span the logs cover, and whether a file ends
    before the incident window (the span of the findings)."""
    starts = [f.start for f in findings if f.start]
    window = (min(starts), max(f.end or f.start for f in findings if f.start)) if starts else None
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for r in inputs:
        if r.status != "analysed" or not r.format:
            continue
        key = (r.node or "-", r.format)
        row = rows.setdefault(key, {"node": key[0], "source": key[1], "files": 0,
                                    "first": None, "last": None, "ends_before_incident": False})
        row["files"] += 1
        if r.first and (row["first"] is None or r.first < row["first"]):
            row["first"] = r.first
        if r.last and (row["last"] is None or r.last > row["last"]):
            row["last"] = r.last
        if r.utc_offset_min is not None:
            row["utc_offset_min"] = r.utc_offset_min
    if window is not None:
        for row in rows.values():
            last = row["last"]
            offset = row.get("utc_offset_min")
            last_utc = shifted(last, timedelta(minutes=offset)) \
                if last is not None and offset is not None else None
            if last_utc is not None:
                gap = window[0] - last_utc
                if row["source"] not in SPARSE_SOURCES and gap > COVERAGE_SLACK:
                    row["ends_before_incident"] = True
                    row["ends_s_before_incident"] = round(gap.total_seconds())
    return sorted(rows.values(), key=lambda r: (r["node"], r["source"]))
