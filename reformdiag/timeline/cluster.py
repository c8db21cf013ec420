"""Timeline stage: one cluster map from every name the bundle uses for a node.

Evidence, strongest first: saved ``cm_ctl query`` rows (CM node, host, DN instance), host
folders holding ``dn_600X`` folders, pg_log lines of a background thread (``%a`` = dn_6001)
and ``Node:N`` in a file of a known instance, DMS reform plans (``inst_id:N``) in a host's
dms.rlog. What is still missing is filled by the resource-pooling convention (instance 6001 =
DMS inst 0 = CM node 1 = DSS 20001), and the map says it was assumed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from reformdiag.model import ClusterNode, Event

DN_BASE = 6001
DSS_BASE = 20001


@dataclass
class ClusterMap:
    nodes: list[ClusterNode] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def by_host(self, host: str | None) -> ClusterNode | None:
        return next((n for n in self.nodes if host and n.host == host), None)

    def find(self, **ids: int | str | None) -> ClusterNode | None:
        for n in self.nodes:
            for attr, value in ids.items():
                if value is not None and getattr(n, attr) == value:
                    return n
        return None

    def to_dict(self) -> list[dict[str, object]]:
        return [
            {"node": n.key, "host": n.host, "cm_node": n.cm_node, "dn_instance": n.dn_instance,
             "dms_inst": n.dms_inst, "dss_instance": n.dss_instance, "evidence": n.evidence}
            for n in self.nodes
        ]


def _node_for(cmap: ClusterMap, host: str | None, dn: int | None) -> ClusterNode:
    node = cmap.by_host(host) if host else None
    if node is None and dn is not None:
        node = cmap.find(dn_instance=dn)
        if node is not None and host and node.host is None:
            node.host, node.key = host, host
    if node is None:
        node = ClusterNode(key=host or f"dn_{dn}", host=host, dn_instance=dn)
        cmap.nodes.append(node)
    if dn is not None and node.dn_instance is None:
        node.dn_instance = dn
    return node


def build_cluster(events: list[Event], file_hints: dict[str, tuple[str | None, int | None]]
                  ) -> ClusterMap:
    """Build the map from file path hints (file -> (host, dn instance)) and events."""
    cmap = ClusterMap()
    # 1. cm_ctl rows name host, CM node and instance together.
    for ev in events:
        f = ev.fields
        if ev.kind == "cm_dn_state" and f.get("host"):
            node = _node_for(cmap, str(f["host"]), int(f["dn_instance"]))
            node.cm_node = node.cm_node or int(f["cm_node"])
            _note(node, "cm_ctl query")
        elif ev.kind == "cm_cms_state" and f.get("host") and isinstance(f.get("cm_node"), int):
            node = _node_for(cmap, str(f["host"]), None)
            node.cm_node = node.cm_node or int(f["cm_node"])
            _note(node, "cm_ctl query")
        elif ev.kind == "cm_resource_state" and f.get("host"):
            node = _node_for(cmap, str(f["host"]), None)
            node.cm_node = node.cm_node or int(f["cm_node"])
            inst = f.get("instance")
            if isinstance(inst, int) and f.get("res") == "dss":
                node.dss_instance = inst
            elif isinstance(inst, int) and f.get("res") == "dms_res":
                node.dn_instance = node.dn_instance or inst
            _note(node, "cm_ctl query")
    # 2. folders: <host>/.../dn_6001/
    for host, dn in file_hints.values():
        if host or dn:
            node = _node_for(cmap, host, dn)
            _note(node, "bundle folders")
    # 3. log content: %a of background threads, Node:N in a known instance's file, DMS plans.
    #    A file with neither host nor instance folder (a pasted log) is identified by content,
    #    and file_hints is updated so that its events get that node.
    inst_votes: dict[str, Counter[int]] = {}
    for ev in events:
        host, dn = file_hints.get(ev.file, (None, None))
        app = str(ev.fields.get("app", ""))
        if app.startswith("dn_") and app[3:].isdigit() and not dn:
            node = _node_for(cmap, host, int(app[3:]))
            _note(node, "pg_log application name")
            dn = int(app[3:])
            file_hints[ev.file] = (host, dn)
        key = host or (f"dn_{dn}" if dn else None) or f"file:{ev.file}"
        inst = None
        if ev.kind in ("first_round_reform_wait", "first_round_reform_failed",
                       "first_round_reform_success", "instance_start", "reform_success",
                       "failover_success", "reform_plan", "switchover_start"):
            inst = ev.fields.get("inst_id")
        if isinstance(inst, int):
            inst_votes.setdefault(key, Counter())[inst] += 1
    for key, votes in inst_votes.items():
        if key.startswith("file:"):
            inst = votes.most_common(1)[0][0]
            node = cmap.find(dms_inst=inst) or _node_for(cmap, None, DN_BASE + inst)
            node.dms_inst = inst
            _note(node, "DMS inst_id in its logs")
            file_hints[key[5:]] = (None, node.dn_instance)
            continue
        node = cmap.by_host(key) or cmap.find(key=key)
        if node is not None and node.dms_inst is None:
            node.dms_inst = votes.most_common(1)[0][0]
            _note(node, "DMS inst_id in its logs")
    # 4. convention for what is still unknown
    assumed = False
    for node in cmap.nodes:
        if node.dn_instance is None and node.dms_inst is not None:
            node.dn_instance, assumed = DN_BASE + node.dms_inst, True
        if node.dn_instance is not None:
            base = node.dn_instance - DN_BASE
            if node.dms_inst is None:
                node.dms_inst, assumed = base, True
            if node.cm_node is None:
                node.cm_node, assumed = base + 1, True
            if node.dss_instance is None:
                node.dss_instance, assumed = DSS_BASE + base, True
    if assumed:
        cmap.notes.append("some ids were not in the bundle and follow the resource-pooling "
                          "convention (dn_6001 = DMS inst 0 = CM node 1 = DSS 20001)")
    cmap.nodes.sort(key=lambda n: (n.cm_node or 99, n.dn_instance or 0, n.key))
    return cmap


def _note(node: ClusterNode, what: str) -> None:
    if what not in node.evidence:
        node.evidence.append(what)
