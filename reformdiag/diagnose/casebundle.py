"""Diagnose stage: lay a rule's test case (``logs: {source@host: lines}``) out as a bundle.

Rule cases are run through the real pipeline (sniffing, stage one, Lark, timeline, episodes),
so a rule test exercises exactly what a user's bundle would. The key ``source@host`` may name
the instance folder too: ``opengauss_pg_log@host1/dn_6001``.
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
}


def case_path(key: str) -> str:
    source, _, where = key.partition("@")
    host, _, dn = (where or "host1").partition("/")
    if not dn:
        digits = re.findall(r"\d+", host)
        dn = f"dn_{6000 + int(digits[-1])}" if digits and int(digits[-1]) < 100 else "dn_6001"
    template = LAYOUT.get(source)
    if template is None:
        template = "{host}/" + source + ".log"
    return template.format(host=host, dn=dn)


def write_case(logs: dict[str, str], root: Path) -> Path:
    for key, text in logs.items():
        path = root / case_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = "a" if path.exists() else "w"
        with path.open(mode, encoding="utf-8") as handle:
            handle.write(text if text.endswith("\n") else text + "\n")
    return root
