"""Ingest stage: what a file's path says about its node (host folder, dn_600X folder, the
server address of a per-server folder, a node id in the file name)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Folders that start the log tree of one host (formats.md: $GAUSSLOG/pg_log, $GAUSSLOG/cm,
# $DSS_HOME/log). The folder just above the first of them is the host folder.
_LOG_ROOTS = {"gausslog", "gaussdb_log", "pg_log", "cm", "log", "logs", "dss_home", "dss",
              "cm_agent", "cm_server", "om_monitor", "DMS", "DSS", "gs_log", "var"}
_INSTANCE_DIR = re.compile(r"^dn_(\d{4,5})$")
_GENERIC_HOSTS = {"bundle", "logs", "log", "collected", "tmp", "data", "."}
# A folder named by a server address names that server: OceanBase calls an observer by its
# `ip:rpc_port` in every line and view, and collectors name per-server folders by it
# (`ob_log_10.0.0.2_2882_<time>`, `10.0.0.2_2882`).
_ADDRESS = re.compile(r"(?:^|[_-])(\d{1,3}(?:\.\d{1,3}){3})(?:[_:](\d{2,5}))?(?=[_-]|$)")
# Files a collector writes once per node straight into that node's folder: crm report
# (`<node>/ha-log.txt`, `<node>/dlm_dump.txt`...) and copies of an NDB node's DataDir
# (`<host>/ndb_2_out.log`). Their folder is the node's.
_NODE_FILES = re.compile(r"^(ha-log\.txt|dlm_dump\.txt|journal\.log|corosync\.log|"
                         r"pacemaker\.log|messages|ndb_\d+_(out|error|cluster|trace)\.log)")
# NDB names each node's own files by its node id (ndb_<id>_out.log, ndb_<mgm id>_cluster.log).
_NDB_FILE = re.compile(r"^ndb_(\d+)_(?:out|error|cluster|trace)\.log")


@dataclass(frozen=True, slots=True)
class PathHints:
    host: str | None = None
    dn_instance: int | None = None
    ids: tuple[tuple[str, int], ...] = ()  # node ids the file name gives: (("ndb_node", 2),)


def address(name: str) -> str | None:
    """``ob_log_10.0.0.2_2882_20240510`` -> ``10.0.0.2:2882``; None if no address in it.

    >>> address("ob_log_10.0.0.2_2882_20240510102107"), address("openGauss111")
    ('10.0.0.2:2882', None)
    """
    m = _ADDRESS.search(name)
    if m is None or any(int(octet) > 255 for octet in m.group(1).split(".")):
        return None
    return f"{m.group(1)}:{m.group(2)}" if m.group(2) else m.group(1)


def path_hints(parts: tuple[str, ...]) -> PathHints:
    """Host and instance from ``<host>/gausslog/pg_log/dn_6001/postgresql-...log``."""
    host = None
    folders = parts[:-1]
    for i, name in enumerate(folders):
        if name in _LOG_ROOTS or name.lower() in _LOG_ROOTS:
            if i > 0 and folders[i - 1] not in _GENERIC_HOSTS:
                host = address(folders[i - 1]) or folders[i - 1]
            break
    if host is None:
        host = next((a for a in map(address, folders) if a), None)
    filename = parts[-1] if parts else ""
    if host is None and folders and _NODE_FILES.match(filename) \
            and folders[-1] not in _GENERIC_HOSTS:
        host = folders[-1]
    instance = None
    for name in folders:
        m = _INSTANCE_DIR.match(name)
        if m:
            instance = int(m.group(1))
    ndb = _NDB_FILE.match(filename)
    ids = (("ndb_node", int(ndb.group(1))),) if ndb else ()
    return PathHints(host=host, dn_instance=instance, ids=ids)
