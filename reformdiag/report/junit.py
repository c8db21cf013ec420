"""Report stage: JUnit XML for CI test tabs, one test case per rule applied to the bundle.

A rule that fired is a failed test (type = the finding's severity; the message carries the
title and root cause, the body the nodes, window, remediation and evidence lines); a rule
that found nothing passed; a rule that could not be evaluated is skipped and names the
missing sources. Folded symptoms fail their own rule's case and say which cause explains
them. Nothing analysable at all is one test case in error.

The layout is the one the common JUnit schema (Jenkins xunit ``junit-10.xsd``) accepts;
tests validate against it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

# XML 1.0 cannot carry most control characters (logs do contain ESC and NUL): show them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: object) -> str:
    """Text that XML 1.0 can hold: control characters written as ``\\x1b``."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group(0)):02x}", str(value))


def finding_text(f: dict[str, Any], explained_by: str | None = None) -> str:
    """A finding as plain text, for a failure body (and any other plain-text sink)."""
    lines = [f"{f['severity'].upper()} {f['rule']} {f['title']}"
             + (f"  [{', '.join(f['references'])}]" if f["references"] else "")]
    if explained_by:
        lines.append(f"Symptom of {explained_by} (folded under that cause in the report).")
    lines.append(f"Nodes: {', '.join(f['nodes']) or '-'}    Window: {f['start']} .. {f['end']}")
    lines += ["", "Root cause:", f"  {f['root_cause']}"]
    figures = [f"  {fig.get('label', name)}: {fig['value']} {fig.get('unit') or ''}".rstrip()
               + (f" (objective {fig['objective']}, {'met' if fig.get('met') else 'NOT met'})"
                  if "objective" in fig else "")
               for name, fig in f["figures"].items() if fig.get("value") is not None]
    if figures:
        lines += ["", "Figures:", *figures]
    lines += ["", "Remediation:"]
    lines += [f"  {i}. {step}" for i, step in enumerate(f["remediation"], 1)]
    if f["evidence"]:
        lines += ["", "Evidence:"]
        for ev in f["evidence"]:
            lines.append(f"  {ev['time']}  {ev['node']}  {ev['file']}:{ev['line']}")
            lines.append(f"    {ev['text']}")
    return "\n".join(lines)


def _findings_by_rule(doc: dict[str, Any]) -> dict[str, list[tuple[dict[str, Any], str | None]]]:
    out: dict[str, list[tuple[dict[str, Any], str | None]]] = {}
    for f in doc["findings"]:
        out.setdefault(f["rule"], []).append((f, None))
        for s in f.get("symptoms", []):
            out.setdefault(s["rule"], []).append((s, f["rule"]))
    return out


def render_junit(doc: dict[str, Any], sources: list[str] | None = None) -> str:
    """The report document (``json_report.report_dict``) as a JUnit XML string."""
    bundle = ", ".join(sources or []) or "bundle"
    found = _findings_by_rule(doc)
    analysed = any(i["status"] == "analysed" for i in doc["inputs"])
    cases: list[ET.Element] = []
    failures = skipped = errors = 0
    if not analysed:
        errors += 1
        case = ET.Element("testcase", name="bundle can be analysed", classname="reformdiag.bundle",
                          time="0")
        bad = [f"{i['path']}: {i['status']}: {i.get('reason') or ''}" for i in doc["inputs"]]
        error = ET.SubElement(case, "error", type="nothing analysable",
                              message=xml_text(doc["verdict"]))
        error.text = xml_text("\n".join(bad) or "no input file")
        cases.append(case)
    for o in doc["rules"]:
        case = ET.Element("testcase", name=xml_text(f"{o['rule']} {o['title']}"),
                          classname=xml_text(f"reformdiag.{o['name']}"), time="0")
        hits = found.get(o["rule"], [])
        if o["status"] == "fired" or hits:
            failures += 1
            first, cause = hits[0] if hits else (None, None)
            message = (f"{first['title']}: {first['root_cause']}" if first
                       else f"{o['title']}: {o['findings']} finding(s)")
            failure = ET.SubElement(case, "failure", type=o["severity"],
                                    message=xml_text(message))
            failure.text = xml_text("\n\n".join(finding_text(f, by) for f, by in hits)
                                    or message)
        elif o["status"] == "not evaluable":
            skipped += 1
            ET.SubElement(case, "skipped", message=xml_text(
                "not evaluable: missing " + ", ".join(o["missing"])))
        cases.append(case)
    suite = ET.Element("testsuite", name=xml_text(f"reformdiag {bundle}"), tests=str(len(cases)),
                       failures=str(failures), errors=str(errors), skipped=str(skipped),
                       time="0")
    props = ET.SubElement(suite, "properties")
    for name, value in (("reformdiag.version", doc["tool"]["version"]),
                        ("report.schema_version", doc["schema_version"]),
                        ("bundle", bundle), ("max_severity", doc.get("max_severity") or "none"),
                        ("span.start", doc["span"]["start"] or ""),
                        ("span.end", doc["span"]["end"] or "")):
        ET.SubElement(props, "property", name=name, value=xml_text(value))
    suite.extend(cases)
    out = ET.SubElement(suite, "system-out")
    out.text = xml_text(doc["verdict"])
    root = ET.Element("testsuites", name="reformdiag", tests=str(len(cases)),
                      failures=str(failures), errors=str(errors), time="0")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
