"""Diagnose stage: lay a rule's test case (``logs: {source@host: lines}``) out as a bundle.

Rule cases are run through the real pipeline (sniffing, stage one, Lark, timeline, episodes),
so a rule test exercises exactly what a user's bundle would. The key ``source@host`` may name
the instance folder too: ``opengauss_pg_log@host1/dn_6001``, or the node id a file name
carries: ``ndb_out_log@ndb-dn1/2`` is ``ndb-dn1/ndb_2_out.log``. An OceanBase observer is named
by its address: ``observer_log@10.0.0.1:2882`` is ``10.0.0.1_2882/observer.log``.
"""

from __future__ import annotations

import re
from pathlib import Path

# Where each source lives in a collected bundle (formats.md 1.1, 2.1, 3.1).
LAYOUT = {
    "opengauss_pg_log": "{host}/gausslog/pg_log/{dn}/postgresql-2024-01-01_000000.log",
    "dms_run_log": "{host}/gausslog/pg_log/DMS/run/dms.rlog",
    "dss_run_log": "{host}/dss_home/log/run/dssinstance.rlog",
    "cm_agent_log": "{host}/gausslog/cm/cm_agent/cm_agent-2024-01-01_000000-current.log",
    "cm_server_log": "{host}/gausslog/cm/cm_server/cm_server-2024-01-01_000000-current.log",
    "cm_key_event_log": "{host}/gausslog/cm/cm_server/key_event-2024-01-01_000000-current.log",
    "cm_ctl_query": "cm_ctl_query_{host}.txt",
    # corosync / DLM / pacemaker, as crm report collects them (one folder per node)
    "ha_syslog": "{host}/ha-log.txt",
    "corosync_log": "{host}/corosync.log",
    "pacemaker_log": "{host}/pacemaker.log",
    "dlm_tool_dump": "{host}/dlm_dump.txt",
    # NDB: each node's DataDir files, named by its node id
    "ndb_cluster_log": "{host}/ndb_{id}_cluster.log",
    "ndb_out_log": "{host}/ndb_{id}_out.log",
    "ndb_error_log": "{host}/ndb_{id}_error.log",
    # OceanBase: one folder per observer (ip_port), as obdiag gathers them
    "observer_log": "{host}/observer.log",
    "rootservice_log": "{host}/rootservice.log",
    "election_log": "{host}/election.log",
    "obclient_session": "obclient_session_{host}.txt",
}


def case_path(key: str) -> str:
    source, _, where = key.partition("@")
    host, _, dn = (where or "host1").partition("/")
    digits = re.findall(r"\d+", host)
    node_id = dn if dn.isdigit() else (digits[-1] if digits else "1")
    if not dn or dn.isdigit():
        dn = f"dn_{6000 + int(digits[-1])}" if digits and int(digits[-1]) < 100 else "dn_6001"
    template = LAYOUT.get(source)
    if template is None:
        template = "{host}/" + source + ".log"
    return template.format(host=host.replace(":", "_"), dn=dn, id=node_id)


def write_case(logs: dict[str, str], root: Path) -> Path:
    for key, text in logs.items():
        path = root / case_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = "a" if path.exists() else "w"
        with path.open(mode, encoding="utf-8") as handle:
            handle.write(text if text.endswith("\n") else text + "\n")
    return root
