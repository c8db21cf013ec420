"""Every sample bundle (samples/*/) is analysed as a user would, and compared with its
expected.yaml: inputs (format, node, line counts), line accounting, and the diagnosis.

An expected.yaml states its diagnosis as data, checked here without per-case code:

* ``findings:`` the report's top-level findings, in order and nothing else, each with its
  ``rule``, and optionally ``references``, ``severity``, ``nodes``, ``figures``
  (``name: [value, tolerance]`` or an exact value), ``root_cause_contains``,
  ``remediation_contains`` and ``symptoms`` (the rules folded under it);
* ``nodes:`` cluster-map entries, found by ``node`` (or ``host``), with the keys to compare
  (``cm_node``, ``ids``, ``system``...);
* ``episodes:`` how many episodes of each kind the report shows;
* ``case: none``: nothing at or above medium (a healthy bundle).

The first openGauss samples keep their richer hand-written checks (``CHECKS``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from reformdiag.cli import app
from reformdiag.model import SEVERITY_RANK

ROOT = Path(__file__).resolve().parents[2]
BUNDLES = sorted(p for p in (ROOT / "samples").iterdir() if p.is_dir())
KNOWN_FP = yaml.safe_load((ROOT / "tests" / "known_fp.yaml").read_text()) or []


def _analyse(bundle: Path, *extra: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["analyze", str(bundle / "bundle"), "--format", "json",
                                      *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module", params=BUNDLES, ids=[b.name for b in BUNDLES])
def scenario(request: pytest.FixtureRequest) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    bundle = request.param
    expected_file = bundle / "expected.yaml"
    assert expected_file.exists(), f"{bundle.name} has no expected.yaml"
    return bundle, yaml.safe_load(expected_file.read_text()), _analyse(bundle)


@pytest.mark.scenario
def test_every_file_is_an_input_with_its_format_and_node(scenario: Any) -> None:
    bundle, expected, report = scenario
    inputs = {i["path"]: i for i in report["inputs"]}
    files = sorted(str(p.relative_to(bundle / "bundle")) for p in (bundle / "bundle").rglob("*")
                   if p.is_file())
    assert sorted(inputs) == files
    for want in expected["inputs"]:
        got = inputs[want["path"]]
        assert got["status"] == "analysed", got
        assert got["format"] == want["format"], want["path"]
        assert got["node"] == want["node"] or (want["node"] is None and got["node"] is None), \
            want["path"]
        assert got["lines"] == want["lines"], want["path"]


@pytest.mark.scenario
def test_every_line_is_accounted_for(scenario: Any) -> None:
    _, _, report = scenario
    for i in report["inputs"]:
        assert i["lines"] == i["records"] + i["continuation"] + i["unparsed"], i["path"]
        assert i["unparsed"] == 0, (i["path"], [u for u in report["unparsed"]
                                                if u["file"] == i["path"]][:3])


@pytest.mark.scenario
def test_cluster_map_matches(scenario: Any) -> None:
    _, expected, report = scenario
    by_key = {n["node"]: n for n in report["cluster"]}
    by_host = {n["host"]: n for n in report["cluster"] if n["host"]}
    for want in expected.get("nodes", []):
        got = by_key[want["node"]] if "node" in want else by_host[want["host"]]
        for key, value in want.items():
            assert got.get(key) == value, (want.get("node", want.get("host")), key, got)


@pytest.mark.scenario
def test_episodes_match(scenario: Any) -> None:
    _, expected, report = scenario
    want = expected.get("episodes")
    if not want:
        pytest.skip("expected.yaml states no episode counts")
    got: dict[str, int] = {}
    for episode in report["episodes"]:
        got[episode["kind"]] = got.get(episode["kind"], 0) + 1
    assert {k: got.get(k, 0) for k in want} == want


def _allowed_fp(bundle: str) -> set[str]:
    return {k["rule"] for k in KNOWN_FP if k["sample"] == bundle}


@pytest.mark.scenario
def test_diagnosis(scenario: Any) -> None:
    bundle, expected, report = scenario
    findings = report["findings"]
    case = expected.get("case")
    if case in (None, "none"):
        allowed = _allowed_fp(bundle.name)
        loud = [f for f in findings if SEVERITY_RANK[f["severity"]] >= SEVERITY_RANK["medium"]
                and f["rule"] not in allowed]
        assert not loud, [(f["rule"], f["root_cause"]) for f in loud]
        return
    top = findings[0]
    assert case in top["references"], (case, [(f["rule"], f["references"]) for f in findings])
    if "findings" in expected:
        _check_findings(findings, expected["findings"])
        return
    facts = next(e for e in expected["expect"] if e.get("case") == case)
    CHECKS[case](top, facts, report)


def _check_findings(findings: list[dict[str, Any]], wanted: list[dict[str, Any]]) -> None:
    """The report's top-level findings are exactly ``wanted``, in order, with their facts."""
    assert [f["rule"] for f in findings] == [w["rule"] for w in wanted], \
        [(f["rule"], f["root_cause"][:120]) for f in findings]
    for got, want in zip(findings, wanted, strict=True):
        where = got["rule"]
        assert set(want.get("references", [])) <= set(got["references"]), where
        if "severity" in want:
            assert got["severity"] == want["severity"], where
        if "nodes" in want:
            assert sorted(got["nodes"]) == sorted(want["nodes"]), (where, got["nodes"])
        for name, value in (want.get("figures") or {}).items():
            figure = got["figures"][name]["value"]
            if isinstance(value, list):
                assert isinstance(figure, (int, float)) and abs(figure - value[0]) <= value[1], \
                    (where, name, figure)
            else:
                assert figure == value, (where, name, figure)
        for text in want.get("root_cause_contains", []):
            assert text in got["root_cause"], (where, text, got["root_cause"])
        for text in want.get("remediation_contains", []):
            assert any(text in step for step in got["remediation"]), (where, text)
        if "symptoms" in want:
            assert sorted(s["rule"] for s in got["symptoms"]) == sorted(want["symptoms"]), where


def _check_og_c01(top: dict[str, Any], facts: dict[str, Any], report: dict[str, Any]) -> None:
    failed, cause = facts["failed_node_host"], facts["cause_node_host"]
    assert set(top["nodes"]) == {failed, cause}
    text = top["root_cause"]
    assert text.index(failed) < text.index(cause), text
    assert f"inst {facts['failed_node_inst']}" in text and f"inst {facts['cause_node_inst']}" in text
    assert top["remediation"][0].startswith("No action needed")
    assert any("cm_ctl query -Cv" in step for step in top["remediation"])


def _check_og_c03(top: dict[str, Any], facts: dict[str, Any], report: dict[str, Any]) -> None:
    figures = top["figures"]
    assert figures["attempts"]["value"] == facts["failover_attempts"]
    recovery = facts["recovery_time_s"]
    if not isinstance(recovery, dict):
        recovery = {"value": recovery, "tolerance": 0.5}
    assert abs(figures["recovery_s"]["value"] - recovery["value"]) <= recovery["tolerance"]
    assert figures["recovery_s"]["objective"] == facts["objective_s"]
    assert figures["recovery_s"]["met"] is facts["objective_met"]
    assert "backend threads could not exit" in top["root_cause"]
    assert top["nodes"] == [facts["promoted_node_host"]]
    assert figures["refused_connections"]["value"] == facts["pm_wait_backends_warnings"]["count"]


CHECKS = {"OG-C01": _check_og_c01, "OG-C03": _check_og_c03}


@pytest.mark.scenario
@pytest.mark.slow
def test_prefilter_does_not_change_the_findings(scenario: Any) -> None:
    """Stage one keeps only anchored records; parsing every record gives the same diagnosis."""
    bundle, _, report = scenario
    full = _analyse(bundle, "--no-prefilter")
    key = lambda r: [(f["rule"], f["nodes"], f["start"], f["figures"]) for f in r["findings"]]  # noqa: E731
    assert key(full) == key(report)
