"""What a path says about its node, for the collection layouts of every system."""

from __future__ import annotations

import pytest

from reformdiag.ingest.identity import path_hints


@pytest.mark.parametrize("path,host,dn,ids", [
    ("openGauss111/gausslog/pg_log/dn_6001/postgresql-2024.log", "openGauss111", 6001, ()),
    # obdiag: one folder per observer, named by its address (OceanBase's name for a server)
    ("ob_log_10.0.0.2_2882_20240510102107/observer.log", "10.0.0.2:2882", None, ()),
    ("10.0.0.3_2882/log/rootservice.log", "10.0.0.3:2882", None, ()),
    # crm report: one folder per node, with files the collector names
    ("host-a/ha-log.txt", "host-a", None, ()),
    ("report/node1/dlm_dump.txt", "node1", None, ()),
    ("sosreport-host-b/var/log/messages", "sosreport-host-b", None, ()),
    # NDB: a node's DataDir files carry its node id
    ("ndb-data2/ndb_2_out.log", "ndb-data2", None, (("ndb_node", 2),)),
    ("ndb_49_cluster.log", None, None, (("ndb_node", 49),)),
    # not a node: a generic folder, an unknown file, an IP-like version string
    ("bundle/notes.txt", None, None, ()),
    ("cm_ctl_query_Cv.txt", None, None, ()),
    ("release-2024.10.19.1/notes.log", None, None, ()),
])
def test_path_hints(path: str, host: str | None, dn: int | None, ids: tuple) -> None:
    hints = path_hints(tuple(path.split("/")))
    assert (hints.host, hints.dn_instance, hints.ids) == (host, dn, ids)
