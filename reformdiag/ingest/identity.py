"""Ingest stage: what a file's path says about its node (host folder, dn_600X folder)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Folders that start the log tree of one host (formats.md: $GAUSSLOG/pg_log, $GAUSSLOG/cm,
# $DSS_HOME/log). The folder just above the first of them is the host folder.
_LOG_ROOTS = {"gausslog", "gaussdb_log", "pg_log", "cm", "log", "logs", "dss_home", "dss",
              "cm_agent", "cm_server", "om_monitor", "DMS", "DSS", "gs_log", "var"}
_INSTANCE_DIR = re.compile(r"^dn_(\d{4,5})$")
_GENERIC_HOSTS = {"bundle", "logs", "log", "collected", "tmp", "data", "."}


@dataclass(frozen=True, slots=True)
class PathHints:
    host: str | None = None
    dn_instance: int | None = None


def path_hints(parts: tuple[str, ...]) -> PathHints:
    """Host and instance from ``<host>/gausslog/pg_log/dn_6001/postgresql-...log``."""
    host = None
    folders = parts[:-1]
    for i, name in enumerate(folders):
        if name in _LOG_ROOTS or name.lower() in _LOG_ROOTS:
            if i > 0 and folders[i - 1] not in _GENERIC_HOSTS:
                host = folders[i - 1]
            break
    instance = None
    for name in folders:
        m = _INSTANCE_DIR.match(name)
        if m:
            instance = int(m.group(1))
    return PathHints(host=host, dn_instance=instance)
