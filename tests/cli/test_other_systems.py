"""The CLI on the other systems' bundles (corosync/DLM, NDB Cluster, OceanBase), and on one
folder that mixes them with openGauss: each system's findings name that system's nodes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reformdiag.cli import app

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
runner = CliRunner()
MIXED = {"opengauss_reform_round1_fail": "opengauss", "dlm_stateful_merge": "dlm",
         "ndb_initial_start_two_presidents": "ndb",
         "oceanbase_stop_server_log_not_sync": "oceanbase"}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("mixed")
    for sample in MIXED:
        shutil.copytree(SAMPLES / sample / "bundle", folder / sample)
    result = runner.invoke(app, ["analyze", str(folder), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.scenario
def test_mixed_folder_reports_each_system_with_its_nodes(mixed: dict) -> None:
    findings = {f["rule"]: f for f in mixed["findings"]}
    assert set(findings) == {"OG001", "CS001", "ND001", "OB001"}, list(findings)
    assert set(findings["OG001"]["nodes"]) == {"openGauss111", "openGauss137"}
    assert findings["CS001"]["nodes"] == ["host-a", "host-m"]
    assert findings["ND001"]["nodes"] == ["ndb-data1", "ndb-data2"]
    assert findings["OB001"]["nodes"] == ["10.0.0.1:2882", "10.0.0.2:2882", "10.0.0.3:2882"]
    assert {i["system"] for i in mixed["inputs"]} == set(MIXED.values())


@pytest.mark.scenario
def test_mixed_folder_keeps_each_system_s_node_naming(mixed: dict) -> None:
    nodes = {n["node"]: n for n in mixed["cluster"]}
    assert nodes["openGauss111"]["system"] == "opengauss"
    assert (nodes["openGauss111"]["dn_instance"], nodes["openGauss111"]["cm_node"]) == (6001, 1)
    assert nodes["host-m"]["ids"] == {"nodeid": 13} and nodes["host-m"]["system"] == "dlm"
    assert nodes["ndb-data2"]["ids"] == {"ndb_node": 2}
    # the openGauss instance convention (dn_6001 = CM node 1 = DSS 20001) is not applied to
    # other systems' nodes
    for key in ("ndb-data1", "host-a", "10.0.0.1:2882"):
        assert nodes[key]["dn_instance"] is None and nodes[key]["cm_node"] is None, key
        assert nodes[key]["dss_instance"] is None and nodes[key]["dms_inst"] is None, key


@pytest.mark.scenario
def test_mixed_folder_does_not_lend_one_system_s_zone_to_another(mixed: dict) -> None:
    notes = " | ".join(mixed["time_notes"])
    assert "openGauss111: pg_log/CM times read as UTC+08:00" in notes
    assert "no time zone in the dlm, ndb, oceanbase logs" in notes
    ndb = next(f for f in mixed["findings"] if f["rule"] == "ND001")
    assert ndb["start"] == "2024-03-05T10:00:06.000Z"  # local 10:00:06 read as UTC, not UTC+8


@pytest.mark.parametrize("sample,kinds", [
    ("dlm_stateful_merge", {"membership_ring", "member_absence", "fencing", "stateful_merge"}),
    ("ndb_initial_start_two_presidents", {"ndb_start", "president_election", "dual_president"}),
    ("oceanbase_stop_server_no_leader", {"leader_change"}),
    ("oceanbase_stop_server_no_paxos_majority", {"server_lease"}),
])
def test_timeline_episodes_for_every_system(sample: str, kinds: set[str]) -> None:
    result = runner.invoke(app, ["timeline", str(SAMPLES / sample / "bundle"), "--episodes",
                                 "-f", "jsonl"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert kinds <= {r["kind"] for r in rows}
    assert all(r["time"] and r["node"] and r["message"] for r in rows)


def test_episodes_in_the_report_carry_kind_node_start_end_summary() -> None:
    result = runner.invoke(app, ["analyze", str(SAMPLES / "dlm_stateful_merge" / "bundle"),
                                 "-f", "json"])
    merge = next(e for e in json.loads(result.stdout)["episodes"]
                 if e["kind"] == "stateful_merge")
    assert merge["node"] == "host-a" and merge["start"] and merge["end"]
    assert "host-m merged back" in merge["summary"]


def test_formats_list_shows_every_format_with_its_system() -> None:
    from reformdiag.parse.registry import load_registry

    result = runner.invoke(app, ["formats", "list"], terminal_width=200)
    assert result.exit_code == 0, result.output
    ids = {f.id for f in load_registry()}
    rows = {}
    for line in result.stdout.splitlines():
        cells = [c.strip() for c in line.replace("┃", "│").split("│")[1:-1]]
        if len(cells) > 1 and cells[0] in ids:
            rows[cells[0]] = cells[1]
    assert rows == {f.id: f.spec.system for f in load_registry()}
    assert {"dlm", "ndb", "oceanbase", "opengauss"} <= set(rows.values())


def test_rules_of_absent_systems_are_not_run() -> None:
    doc = json.loads(runner.invoke(app, ["analyze", str(SAMPLES / "healthy_ndb_rolling_restart"
                                                        / "bundle"), "-f", "json"]).stdout)
    assert doc["rules"] and all(r["rule"].startswith("ND") for r in doc["rules"])
    assert runner.invoke(app, ["analyze", str(SAMPLES / "healthy_ndb_rolling_restart" / "bundle"),
                               "--fail-on-missing"]).exit_code == 0
