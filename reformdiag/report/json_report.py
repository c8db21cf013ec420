"""Report stage: the versioned JSON document (schemas/report.schema.json).

Later versions add keys; they never rename or remove one.
"""

from __future__ import annotations

import json
from typing import Any

from reformdiag import __version__
from reformdiag.pipeline import Analysis
from reformdiag.report.common import event_dict, input_dict, iso
from reformdiag.timeline.frame import is_notable

SCHEMA_VERSION = "1.0"


def report_dict(analysis: Analysis, findings: list[dict[str, Any]] | None = None,
                extra: dict[str, Any] | None = None) -> dict[str, Any]:
    start, end = analysis.span()
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "reformdiag", "version": __version__},
        "span": {"start": iso(start), "end": iso(end)},
        "inputs": [input_dict(r) for r in analysis.inputs],
        "cluster": analysis.cluster.to_dict(),
        "time_notes": analysis.time_notes,
        "cluster_notes": analysis.cluster.notes,
        "findings": findings or [],
        "notable_events": [event_dict(e) for e in analysis.events if is_notable(e)],
        "unparsed": [
            {"file": u.file, "line": u.line, "reason": u.reason, "text": u.text}
            for r in analysis.inputs for u in r.unparsed_lines
        ],
    }
    if extra:
        doc.update(extra)
    return doc


def render_json(analysis: Analysis, findings: list[dict[str, Any]] | None = None,
                extra: dict[str, Any] | None = None) -> str:
    return json.dumps(report_dict(analysis, findings, extra), indent=2, ensure_ascii=False)
