"""Report stage: SARIF 2.1.0, for code-scanning dashboards and SARIF viewers.

``tool.driver.rules`` is the whole rule set (title, description, remediation as help, the
documented cases as tags); each finding (folded symptoms included) is a result whose level
follows its severity and whose locations are its evidence lines: the file relative to the
bundle (``uriBaseId`` BUNDLE) and the line. Rules that could not be evaluated become
notifications of the run. ``partialFingerprints`` hash what identifies an incident (rule,
nodes, start time), not file paths or wording, so re-running on the same or a re-collected
bundle gives the same fingerprint.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from reformdiag.report.junit import finding_text

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub code scanning ranks results by this property (0-10); keep it in step with LEVEL.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}
FINGERPRINT = "reformdiagIncident/v1"


def fingerprint(f: dict[str, Any]) -> str:
    """Stable id of one finding: rule, nodes and start time (UTC)."""
    key = "|".join([f["rule"], ",".join(sorted(f["nodes"])), str(f["start"])])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _uri(path: str) -> str:
    return quote(path.replace("\\", "/"), safe="/")


def _rule(rule: Any) -> dict[str, Any]:
    help_text = (" ".join(rule.description.split()) + "\n\nRemediation:\n"
                 + rule.remediation.strip()
                 + (f"\n\nDocumented case(s): {', '.join(rule.references)}"
                    if rule.references else ""))
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": " ".join(rule.description.split())},
        "help": {"text": help_text},
        "defaultConfiguration": {"level": LEVEL.get(rule.level, "warning")},
        "properties": {"tags": [*rule.references, *rule.systems], "severity": rule.level,
                       "security-severity": SECURITY_SEVERITY.get(rule.level, "5.5"),
                       "references": list(rule.references)},
    }


def _location(ev: dict[str, Any], index: int | None = None) -> dict[str, Any]:
    loc: dict[str, Any] = {
        "physicalLocation": {
            "artifactLocation": {"uri": _uri(ev["file"]), "uriBaseId": "BUNDLE"},
            "region": {"startLine": ev["line"], "snippet": {"text": ev["text"]}},
        },
        "logicalLocations": [{"name": ev["node"], "kind": "node"}],
        "message": {"text": f"{ev['time']} UTC on {ev['node']}"
                            + (f" ({ev['kind']})" if ev.get("kind") else "")},
    }
    if index is not None:
        loc["id"] = index
    return loc


def _result(f: dict[str, Any], rule_index: dict[str, int], explained_by: str | None
            ) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": f["rule"],
        "level": LEVEL.get(f["severity"], "warning"),
        "kind": "fail",
        "message": {"text": f"{f['title']}: {f['root_cause']}"},
        "locations": [_location(ev) for ev in f["evidence"]],
        "partialFingerprints": {FINGERPRINT: fingerprint(f)},
        "properties": {
            "severity": f["severity"], "references": f["references"], "nodes": f["nodes"],
            "start": f["start"], "end": f["end"], "remediation": f["remediation"],
            "figures": f["figures"], "report": finding_text(f, explained_by),
        },
    }
    if f["rule"] in rule_index:
        result["ruleIndex"] = rule_index[f["rule"]]
    if explained_by:
        result["properties"]["explained_by"] = explained_by
    return result


def _base_uri(sources: list[str] | None) -> dict[str, Any]:
    """Where BUNDLE points when one folder or file was analysed (paths are relative to it:
    the folder itself, or the file's folder). Several inputs have no single base."""
    if len(sources or []) != 1:
        return {}
    given = Path((sources or [""])[0])
    if not given.exists():  # e.g. a name --redact put in place of the real path
        return {}
    base = given if given.is_dir() else given.parent
    return {"BUNDLE": {"uri": base.resolve().as_uri() + "/",
                       "description": {"text": "the log bundle that was analysed"}}}


def sarif_dict(doc: dict[str, Any], rules: list[Any], sources: list[str] | None = None
               ) -> dict[str, Any]:
    """The SARIF log as a dict (``render_sarif`` writes it)."""
    known = {r.id for r in rules}
    driver_rules = [_rule(r) for r in rules]
    for o in doc["rules"]:  # an outcome for a rule the caller did not pass still gets a rule
        if o["rule"] not in known:
            known.add(o["rule"])
            driver_rules.append({"id": o["rule"], "name": o["name"],
                                 "shortDescription": {"text": o["title"]},
                                 "defaultConfiguration": {"level": LEVEL.get(o["severity"],
                                                                             "warning")}})
    rule_index = {r["id"]: i for i, r in enumerate(driver_rules)}
    results = []
    for f in doc["findings"]:
        results.append(_result(f, rule_index, None))
        results += [_result(s, rule_index, f["rule"]) for s in f.get("symptoms", [])]
    notifications = [
        {"level": "warning",
         "message": {"text": f"{o['rule']} {o['title']}: not evaluable, missing "
                             + ", ".join(o["missing"])},
         "associatedRule": {"id": o["rule"], "index": rule_index[o["rule"]]}}
        for o in doc["rules"] if o["status"] == "not evaluable"]
    bad = [{"level": "warning" if i["status"] != "error" else "error",
            "message": {"text": f"{i['path']}: {i['status']}"
                                + (f": {i['reason']}" if i.get("reason") else "")},
            "locations": [{"physicalLocation": {"artifactLocation": {
                "uri": _uri(i["path"]), "uriBaseId": "BUNDLE"}}}]}
           for i in doc["inputs"] if i["status"] not in ("analysed", "empty", "repeated")]
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "reformdiag", "version": doc["tool"]["version"],
                            "semanticVersion": doc["tool"]["version"],
                            "rules": driver_rules}},
        "invocations": [{
            "executionSuccessful": any(i["status"] == "analysed" for i in doc["inputs"]),
            "toolConfigurationNotifications": notifications,
            "toolExecutionNotifications": bad,
        }],
        "results": results,
        "columnKind": "unicodeCodePoints",
        "properties": {"verdict": doc["verdict"], "max_severity": doc.get("max_severity"),
                       "span": doc["span"]},
    }
    base = _base_uri(sources)
    if base:
        run["originalUriBaseIds"] = base
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render_sarif(doc: dict[str, Any], rules: list[Any], sources: list[str] | None = None) -> str:
    """The report document (``json_report.report_dict``) as SARIF 2.1.0 JSON."""
    return json.dumps(sarif_dict(doc, rules, sources), indent=2, ensure_ascii=False)
