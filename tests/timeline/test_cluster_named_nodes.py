"""The cluster map learns other systems' nodes from generic fields (origin_*, subject_*) and
file names, and keeps the openGauss instance convention for openGauss nodes only."""

from __future__ import annotations

from reformdiag.model import Event
from reformdiag.timeline.cluster import build_cluster


def _ev(file: str, system: str, **fields: object) -> Event:
    return Event(source="x", system=system, file=file, line=1, kind="log", level="info",
                 message="", raw="", fields=dict(fields))


def test_a_line_naming_host_and_nodeid_binds_them() -> None:
    events = [
        _ev("host-a/ha-log.txt", "dlm", origin_host="host-a", subject_nodeid=13),
        _ev("host-a/ha-log.txt", "dlm", origin_host="host-a", subject_host="host-m",
            subject_nodeid=13),
    ]
    cmap = build_cluster(events, {"host-a/ha-log.txt": ("host-a", None)})
    host_m = cmap.by_id("nodeid", 13)
    assert host_m is not None and host_m.key == "host-m" and host_m.label() == "host-m (nodeid 13)"
    assert [n.key for n in cmap.nodes] == ["host-a", "host-m"]  # nodeid-13 merged into host-m
    cmap.resolve_subjects(events[0])
    assert events[0].fields["subject_node"] == "host-m"


def test_ndb_file_names_bind_node_ids_to_their_folders() -> None:
    events = [_ev("mgm/ndb_49_cluster.log", "ndb", origin_ndb_node=2),
              _ev("mgm/ndb_49_cluster.log", "ndb", origin_ndb_node=3),
              _ev("dn2/ndb_2_out.log", "ndb", origin_ndb_node=2)]
    hints = {"mgm/ndb_49_cluster.log": ("mgm", None), "dn2/ndb_2_out.log": ("dn2", None)}
    ids = {"mgm/ndb_49_cluster.log": (("ndb_node", 49),), "dn2/ndb_2_out.log": (("ndb_node", 2),)}
    cmap = build_cluster(events, hints, ids)
    assert cmap.origin_of(events[0]).key == "dn2"
    assert cmap.origin_of(events[1]).key == "ndb-node-3"  # known by id only
    assert cmap.by_id("ndb_node", 49).key == "mgm"
    assert all(n.cm_node is None and n.dn_instance is None for n in cmap.nodes)


def test_a_folder_whose_lines_all_name_another_host_is_an_alias() -> None:
    events = [_ev("sosreport-host-a/var/log/messages", "dlm", origin_host="host-a")]
    cmap = build_cluster(events, {"sosreport-host-a/var/log/messages": ("sosreport-host-a", None)})
    assert [n.key for n in cmap.nodes] == ["host-a"]
    assert cmap.by_host("sosreport-host-a").key == "host-a"


def test_opengauss_convention_fills_opengauss_nodes_only() -> None:
    events = [_ev("og1/gausslog/pg_log/dn_6001/p.log", "opengauss"),
              _ev("10.0.0.2_2882/observer.log", "oceanbase")]
    hints = {"og1/gausslog/pg_log/dn_6001/p.log": ("og1", 6001),
             "10.0.0.2_2882/observer.log": ("10.0.0.2:2882", None)}
    cmap = build_cluster(events, hints)
    og, ob = cmap.by_host("og1"), cmap.by_host("10.0.0.2:2882")
    assert (og.cm_node, og.dms_inst, og.dss_instance) == (1, 0, 20001)
    assert ob.system == "oceanbase" and (ob.cm_node, ob.dms_inst, ob.dss_instance) == (None,) * 3


def test_an_opengauss_host_s_syslog_does_not_take_its_ids_away() -> None:
    events = [_ev("og1/var/log/messages", "dlm", origin_host="og1"),
              _ev("og1/var/log/messages", "dlm", origin_host="og1"),
              _ev("og1/gausslog/pg_log/dn_6002/p.log", "opengauss")]
    hints = {"og1/var/log/messages": ("og1", None),
             "og1/gausslog/pg_log/dn_6002/p.log": ("og1", 6002)}
    node = build_cluster(events, hints).by_host("og1")
    assert (node.dn_instance, node.dms_inst, node.cm_node) == (6002, 1, 2)
