"""Report stage: the versioned JSON document (schemas/report.schema.json).

Later versions add keys; they never rename or remove one.
"""

from __future__ import annotations

import json
from typing import Any

from reformdiag import __version__
from reformdiag.pipeline import Analysis
from reformdiag.report.common import event_dict, input_dict, iso, jsonable
from reformdiag.report.findings import (
    EPISODE_SHOWN,
    episode_dict,
    finding_dict,
    max_severity,
    verdict,
)
from reformdiag.timeline.frame import is_notable

SCHEMA_VERSION = "1.0"


def report_dict(analysis: Analysis, diagnosis: Any = None) -> dict[str, Any]:
    start, end = analysis.span()
    findings = diagnosis.findings if diagnosis else []
    outcomes = diagnosis.outcomes if diagnosis else []
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "reformdiag", "version": __version__},
        "verdict": verdict(findings, outcomes, len(analysis.analysed),
                           diagnosis.episodes if diagnosis else None),
        "max_severity": max_severity([x for f in findings for x in [f, *f.symptoms]]),
        "span": {"start": iso(start), "end": iso(end)},
        "inputs": [input_dict(r) for r in analysis.inputs],
        "cluster": analysis.cluster.to_dict(),
        "time_notes": analysis.time_notes,
        "cluster_notes": analysis.cluster.notes,
        "findings": [finding_dict(f) for f in findings],
        "rules": [
            {"rule": o.rule, "name": o.name, "title": o.title, "severity": o.severity,
             "status": o.status, "missing": o.missing, "findings": o.findings}
            for o in outcomes
        ],
        "episodes": [episode_dict(e) for e in (diagnosis.episodes if diagnosis else [])
                     if e.kind in EPISODE_SHOWN],
        "coverage": jsonable(diagnosis.coverage if diagnosis else []),
        "notable_events": [event_dict(e) for e in analysis.events if is_notable(e)],
        "unparsed": [
            {"file": u.file, "line": u.line, "reason": u.reason, "text": u.text}
            for r in analysis.inputs for u in r.unparsed_lines
        ],
    }


def render_json(analysis: Analysis, diagnosis: Any = None) -> str:
    return json.dumps(report_dict(analysis, diagnosis), indent=2, ensure_ascii=False)
