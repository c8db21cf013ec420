"""Run a rule's own positive and negative cases through the whole pipeline (used by the
tests and ``reformdiag rules check``)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reformdiag.diagnose.anchors import rule_anchors
from reformdiag.diagnose.casebundle import write_case
from reformdiag.diagnose.engine import diagnose
from reformdiag.diagnose.rules import Rule
from reformdiag.pipeline import Options, analyse


@dataclass
class CaseResult:
    rule: str
    case: str
    polarity: str
    ok: bool
    problems: list[str]


def run_case(rule: Rule, case: dict[str, Any], polarity: str) -> CaseResult:
    with tempfile.TemporaryDirectory(prefix="reformdiag-case-") as tmp:
        write_case(case.get("logs", {}), Path(tmp))
        analysis = analyse([Path(tmp)], Options(extra_anchors=rule_anchors([rule])))
        result = diagnose(analysis.events, analysis.inputs, analysis.cluster, [rule],
                          quote=analysis.quote)
    fired = [f for f in result.all_findings() if f.rule == rule.id]
    problems: list[str] = []
    outcome = next((o for o in result.outcomes if o.rule == rule.id), None)
    if polarity == "negative":
        if fired:
            problems.append(f"fired on a negative case: {fired[0].root_cause}")
        return CaseResult(rule.id, case["name"], polarity, not problems, problems)
    if not fired:
        why = f" (rule {outcome.status}: missing {outcome.missing})" if outcome and \
            outcome.missing else ""
        problems.append("did not fire" + why)
        return CaseResult(rule.id, case["name"], polarity, False, problems)
    f = fired[0]
    expect = case.get("expect", {}) or {}
    if "nodes" in expect and sorted(expect["nodes"]) != sorted(f.nodes):
        problems.append(f"nodes {f.nodes}, expected {expect['nodes']}")
    if "findings" in expect and len(fired) != expect["findings"]:
        problems.append(f"{len(fired)} findings, expected {expect['findings']}")
    if "evidence" in expect and len(f.evidence) < int(expect["evidence"]):
        problems.append(f"{len(f.evidence)} evidence lines, expected at least {expect['evidence']}")
    for name, want in (expect.get("figures") or {}).items():
        got = f.figures.get(name, {}).get("value")
        if isinstance(want, list):
            value, tol = want
            if not isinstance(got, (int, float)) or abs(got - value) > tol:
                problems.append(f"figure {name}={got}, expected {value}±{tol}")
        elif got != want:
            problems.append(f"figure {name}={got!r}, expected {want!r}")
    for text in expect.get("root_cause_contains", []) or []:
        if text not in f.root_cause:
            problems.append(f"root cause lacks {text!r}: {f.root_cause}")
    for text in expect.get("remediation_contains", []) or []:
        if not any(text in step for step in f.remediation):
            problems.append(f"remediation lacks {text!r}")
    if "[template value missing" in f.root_cause or any("[template value missing" in s
                                                         for s in f.remediation):
        problems.append(f"template rendered with a missing value: {f.root_cause}")
    return CaseResult(rule.id, case["name"], polarity, not problems, problems)


def run_rule_cases(rule: Rule) -> list[CaseResult]:
    return [run_case(rule, case, polarity)
            for polarity in ("positive", "negative")
            for case in rule.tests.get(polarity, []) or []]
