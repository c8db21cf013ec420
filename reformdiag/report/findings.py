"""Report stage: findings, rule outcomes and episodes as plain data (shared by renderers)."""

from __future__ import annotations

from typing import Any

from reformdiag.model import SEVERITY_RANK, Finding
from reformdiag.report.common import iso, jsonable

EPISODE_SHOWN = ("first_round_reform", "reform_round", "failover_attempt", "failover_recovery",
                 "switchover", "kick_out", "primary_overlap",
                 "membership_ring", "member_absence", "stateful_merge", "fencing", "ndb_start",
                 "president_election", "dual_president", "arbitration", "leader_change", "server_lease")


def finding_dict(f: Finding) -> dict[str, Any]:
    return {
        "rule": f.rule, "name": f.name, "title": f.title, "severity": f.severity,
        "references": f.references, "nodes": f.nodes, "start": iso(f.start), "end": iso(f.end),
        "root_cause": f.root_cause, "remediation": f.remediation,
        "figures": jsonable(f.figures),
        "evidence": [
            {"role": e.role, "time": iso(e.time), "node": e.node, "file": e.file,
             "line": e.line, "kind": e.kind, "text": e.text}
            for e in f.evidence
        ],
        "symptoms": [finding_dict(s) for s in f.symptoms],
    }


def episode_dict(e: Any) -> dict[str, Any]:
    fields = {k: v for k, v in e.fields.items() if k not in ("parts", "end")}
    return {"kind": e.kind, "node": e.node, "start": iso(e.time), "end": iso(e.fields.get("end")),
            "summary": e.message, "level": e.level, "fields": jsonable(fields),
            "lines": [{"file": p.file, "line": p.line} for p in e.fields.get("parts", [])]}


def max_severity(findings: list[Finding]) -> str | None:
    if not findings:
        return None
    return max((f.severity for f in findings), key=lambda s: SEVERITY_RANK[s])


def observed(episodes: list[Any]) -> str:
    """What the cluster did, in one sentence: '1 switchover (success), 6 reform rounds'."""
    from collections import Counter

    names = {"first_round_reform": "start-up reform", "reform_round": "reform round",
             "failover_attempt": "failover attempt", "switchover": "switchover",
             "kick_out": "kick-out", "membership_ring": "corosync ring",
             "member_absence": "node absence", "fencing": "fencing",
             "ndb_start": "NDB node start", "leader_change": "leader change",
             "server_lease": "server lease expiry"}
    parts = []
    for kind, name in names.items():
        eps = [e for e in episodes if e.kind == kind]
        if not eps:
            continue
        outcomes = Counter(str(e.fields.get("outcome", "done")) for e in eps)
        detail = ", ".join(f"{n} {o}" for o, n in outcomes.most_common()) if kind != "kick_out" \
            else ", ".join(e.message for e in eps[:2])
        count = len(eps)
        if kind == "switchover":  # one switchover shows on the old and the new primary
            starts = sorted(e.time for e in eps if e.time)
            count = sum(1 for i, t in enumerate(starts)
                        if i == 0 or (t - starts[i - 1]).total_seconds() > 60)
            detail = f"seen on {len(eps)} node(s): {detail}"
        detail = "" if set(outcomes) == {"done"} else f" ({detail})"  # episodes without outcome
        parts.append(f"{count} {name}{'s' if count > 1 else ''}{detail}")
    return "; ".join(parts)


def verdict(findings: list[Finding], outcomes: list[Any], analysed: int,
            episodes: list[Any] | None = None) -> str:
    """One paragraph: the root cause in plain words."""
    if analysed == 0:
        return "Nothing could be analysed: no file of the bundle is in a known format."
    not_eval = [o for o in outcomes if o.status == "not evaluable"]
    if not findings:
        text = (f"No known failure signature matched: {len(outcomes) - len(not_eval)} rule(s) "
                f"evaluated found nothing.")
        if not_eval:
            text += f" {len(not_eval)} rule(s) could not be evaluated for missing sources."
        seen = observed(episodes or [])
        if seen:
            text += f" Observed: {seen}."
        return text
    top = findings[0]
    step = top.remediation[0] if top.remediation else ""
    text = f"{top.severity.upper()}: {top.root_cause}"
    if step:
        text += f" What to do: {step}"
    others = len(findings) - 1
    folded = sum(len(f.symptoms) for f in findings)
    if others:
        text += f" ({others} other finding(s) below"
        text += f"; {folded} symptom(s) folded under their cause)" if folded else ")"
    elif folded:
        text += f" ({folded} symptom(s) folded under this cause)"
    return text
