"""JUnit XML: valid against the Jenkins xunit schema, one test case per rule applied."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from reformdiag.report.junit import render_junit, xml_text
from tests.report.conftest import ROOT, SAMPLES, document, sample_id

XSD = xmlschema.XMLSchema(ROOT / "tests" / "fixtures" / "schemas" / "junit-10.xsd")


@pytest.mark.scenario
@pytest.mark.parametrize("bundle", SAMPLES, ids=sample_id)
def test_junit_is_valid_and_has_one_case_per_rule(bundle: Path) -> None:
    doc = document(bundle)
    xml = render_junit(doc, [bundle.parent.name])
    XSD.validate(xml)
    suite = ET.fromstring(xml).find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == len(doc["rules"]) == int(suite.get("tests", "-1"))
    by_rule = {c.get("name", "").split()[0]: c for c in cases}
    fired = {f["rule"]: f for top in doc["findings"] for f in [top, *top.get("symptoms", [])]}
    for o in doc["rules"]:
        case = by_rule[o["rule"]]
        failure, skipped = case.find("failure"), case.find("skipped")
        if o["rule"] in fired:
            f = fired[o["rule"]]
            assert failure is not None and failure.get("type") == f["severity"]
            assert failure.get("message", "").startswith(f["title"])
            assert f["root_cause"][:80] in failure.get("message", "")
            body = failure.text or ""
            assert all(f"{ev['file']}:{ev['line']}" in body for ev in f["evidence"])
            assert "Remediation:" in body
        elif o["status"] == "not evaluable":
            assert skipped is not None and failure is None
            assert all(m in skipped.get("message", "") for m in o["missing"])
        else:
            assert failure is None and skipped is None
    assert int(suite.get("failures", "-1")) == len(fired)
    assert int(suite.get("skipped", "-1")) == sum(o["status"] == "not evaluable"
                                                  for o in doc["rules"])


def test_nothing_analysable_is_an_error_case(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from reformdiag.cli import app

    (tmp_path / "a.txt").write_text("hello\n")
    result = CliRunner().invoke(app, ["analyze", str(tmp_path), "-f", "junit"])
    assert result.exit_code == 2, result.output
    XSD.validate(result.stdout)
    (error,) = ET.fromstring(result.stdout).iter("error")
    assert "a.txt: not recognised" in (error.text or "")


def test_control_characters_in_log_text_keep_the_xml_valid() -> None:
    text = "colour \x1b[31mred\x1b[0m and NUL \x00 end"
    assert xml_text(text) == "colour \\x1b[31mred\\x1b[0m and NUL \\x00 end"
    doc = document(SAMPLES[0])
    broken = {**doc, "verdict": text}
    XSD.validate(render_junit(broken))
