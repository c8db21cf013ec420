"""Timeline stage: one cluster map from every name the bundle uses for a node.

Evidence, strongest first: saved ``cm_ctl query`` rows (CM node, host, DN instance), host
folders holding ``dn_600X`` folders, pg_log lines of a background thread (``%a`` = dn_6001)
and ``Node:N`` in a file of a known instance, DMS reform plans (``inst_id:N``) in a host's
dms.rlog. What is still missing is filled by the resource-pooling convention (instance 6001 =
DMS inst 0 = CM node 1 = DSS 20001), and the map says it was assumed; the convention is
openGauss's, so it is applied to openGauss nodes only.

Other systems name nodes in their lines, and the map learns them from generic fields:

* ``origin_host`` / ``origin_<space>``: who wrote the line (the syslog host; NDB's
  ``Node 2:`` reporter is ``origin_ndb_node``). A file name that names its node
  (``ndb_2_out.log``) gives the default origin of its lines and binds the id to its folder;
* ``subject_host`` / ``subject_<space>``: the node a line is about (``daemon node 13 ...`` is
  ``subject_nodeid``); resolved to ``subject_node``;
* one event naming a node both by host and by id (pacemaker's ``Node host-m state is now
  lost | nodeid=13``) binds the id to the host.

A node known only by an id is keyed ``<space>-<id>`` (``ndb-node-2``, ``nodeid-13``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from reformdiag.model import ClusterNode, Event

DN_BASE = 6001
DSS_BASE = 20001


OPENGAUSS = "opengauss"


@dataclass
class ClusterMap:
    nodes: list[ClusterNode] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # A folder name that stands for a host its lines name (`sosreport-host-a` -> `host-a`).
    aliases: dict[str, str] = field(default_factory=dict)

    def by_host(self, host: str | None) -> ClusterNode | None:
        host = self.aliases.get(host, host) if host else host
        return next((n for n in self.nodes if host and n.host == host), None)

    def of_folder(self, host: str | None, dn_instance: int | None) -> ClusterNode | None:
        """The node a file's folders name: its host folder, else its ``dn_600X`` folder."""
        return self.by_host(host) or (self.find(dn_instance=dn_instance) if dn_instance
                                      else None)

    def by_id(self, space: str, value: Any) -> ClusterNode | None:
        """The node another system calls ``value`` in id space ``space`` (``nodeid`` 13)."""
        if space == "host":
            return self.by_host(str(value))
        return next((n for n in self.nodes if space in n.ids
                     and str(n.ids[space]) == str(value)), None)

    def origin_of(self, ev: Event) -> ClusterNode | None:
        """The node a line says wrote it (``origin_host``, ``origin_<space>``), if any."""
        origin = field_roles(ev.fields).origin
        if not origin:  # most lines
            return None
        for space, value in _named(ev.fields, origin):
            node = self.by_id(space, value)
            if node is not None:
                return node
        return None

    def resolve_subjects(self, ev: Event) -> None:
        """``subject_<space>`` fields -> ``subject_node`` (the node key), when known."""
        subject = field_roles(ev.fields).subject
        if not subject or "subject_node" in ev.fields:
            return
        for space, value in _named(ev.fields, subject):
            node = self.by_id(space, value)
            if node is not None:
                ev.fields["subject_node"] = node.key
                return

    def find(self, **ids: int | str | None) -> ClusterNode | None:
        for n in self.nodes:
            for attr, value in ids.items():
                if value is not None and getattr(n, attr) == value:
                    return n
        return None

    def to_dict(self) -> list[dict[str, object]]:
        return [
            {"node": n.key, "host": n.host, "cm_node": n.cm_node, "dn_instance": n.dn_instance,
             "dms_inst": n.dms_inst, "dss_instance": n.dss_instance, "evidence": n.evidence,
             "system": n.system, "ids": dict(n.ids)}
            for n in self.nodes
        ]


def _id(value: Any) -> int | None:
    """A number id as read (6001, or text ``06001``); None for anything else (``1²``)."""
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and value.isascii():
        return int(value)
    return None


def app_instance(app: Any) -> int | None:
    """The datanode instance an application name (pg_log %a) names: ``dn_6001`` -> 6001.
    ASCII digits only: ``int`` refuses the superscripts OCR leaves (``dn_²``)."""
    if app.__class__ is not str or not app.startswith("dn_"):
        return None
    return _id(app[3:])


class FieldRoles(NamedTuple):
    """What a set of field names can say about nodes."""

    origin: tuple[str, ...]  # origin_<space> keys: who wrote the line
    subject: tuple[str, ...]  # subject_<space> keys (subject_node aside): who it is about
    ids: bool  # openGauss ids (cm_node, inst_id, dn_instance, ...; see pipeline.assign_nodes)


# the fields pipeline.assign_nodes reads openGauss node ids from
ID_FIELDS = frozenset({"peer_inst", "cm_node", "inst_id", "dn_instance", "instance"})


def field_roles(fields: dict[str, Any]) -> FieldRoles:
    """The roles of an event's fields. Asked several times per event, where most events name
    nobody: worked out once per set of field names (one per template, in practice)."""
    names = tuple(fields)
    roles = _ROLES.get(names)
    if roles is None:
        roles = FieldRoles(tuple(k for k in names if k.startswith("origin_")),
                           tuple(k for k in names if k.startswith("subject_")
                                 and k != "subject_node"),
                           not ID_FIELDS.isdisjoint(names))
        if len(_ROLES) < 4096:
            _ROLES[names] = roles
    return roles


_ROLES: dict[tuple[str, ...], FieldRoles] = {}


def _named(fields: dict[str, Any], keys: tuple[str, ...]) -> list[tuple[str, Any]]:
    """(space, value) of the ``origin_<space>`` or ``subject_<space>`` fields ``keys`` that
    hold a value (``origin_host`` -> ``host``)."""
    return [(k[k.index("_") + 1:], fields[k]) for k in keys if fields[k] not in (None, "")]


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


# kinds whose inst_id is the DMS instance of the node that wrote the line (step 3)
_INST_KINDS = frozenset({"first_round_reform_wait", "first_round_reform_failed",
                         "first_round_reform_success", "instance_start", "reform_success",
                         "failover_success", "reform_plan", "switchover_start"})
_CM_ROWS = frozenset({"cm_dn_state", "cm_cms_state", "cm_resource_state"})


@dataclass
class _Survey:
    """What the map is built from, gathered in one pass over the events: few of them name a
    node (at 1 GB, 16,197 events walked six times cost 45 ms; most passes now walk a few)."""

    cm_rows: list[Event] = field(default_factory=list)  # cm_ctl query rows
    content: list[Event] = field(default_factory=list)  # %a dn_N, or a DMS inst_id
    origin: list[Event] = field(default_factory=list)  # with origin_<space> fields
    subject: list[Event] = field(default_factory=list)  # with subject_<space> fields
    per_file: Counter[tuple[str, str]] = field(default_factory=Counter)  # events per system
    systems: dict[str, str] = field(default_factory=dict)  # file -> system of its first event
    # file -> the origin_host values of its lines, "" for a line that names none
    origin_hosts: dict[str, set[str]] = field(default_factory=dict)


def _survey(events: list[Event]) -> _Survey:
    s = _Survey()
    file = system = None
    count = 0
    hosts: set[str] = set()
    for ev in events:
        # counted per run of events of one file (they come together); a run is added before
        # the next one starts, so the counter keeps the order pairs were first seen in
        if ev.file != file or ev.system != system:
            if count:
                s.per_file[file, system] += count  # type: ignore[index]
            file, system, count = ev.file, ev.system, 0
            s.systems.setdefault(file, system)
            hosts = s.origin_hosts.setdefault(file, set())
        count += 1
        f = ev.fields
        origin_host = f.get("origin_host")
        hosts.add(str(origin_host) if origin_host else "")
        kind = ev.kind
        if kind in _CM_ROWS:
            s.cm_rows.append(ev)
        app = f.get("app")
        if kind in _INST_KINDS or (app.__class__ is str and app.startswith("dn_")):
            s.content.append(ev)
        roles = field_roles(f)
        if roles.origin:
            s.origin.append(ev)
        if roles.subject:
            s.subject.append(ev)
    if count:
        s.per_file[file, system] += count  # type: ignore[index]
    return s


def build_cluster(events: list[Event], file_hints: dict[str, tuple[str | None, int | None]],
                  file_ids: dict[str, tuple[tuple[str, int], ...]] | None = None,
                  copies: Collection[str] = ()) -> ClusterMap:
    """Build the map from file path hints (file -> (host, dn instance)), the node ids file
    names give (file -> ((space, id), ...)) and events. ``copies`` are files with the same
    content as another file: their folders name no node of their own (a backup archive may
    call a host by another name)."""
    survey = _survey(events)
    cmap = ClusterMap()
    cmap.aliases = _folder_aliases(survey, file_hints)
    # 1. cm_ctl rows name host, CM node and instance together (ids that are not numbers,
    #    in a damaged paste, name nothing).
    for ev in survey.cm_rows:
        f = ev.fields
        cm_node, dn = _id(f.get("cm_node")), _id(f.get("dn_instance"))
        if ev.kind == "cm_dn_state" and f.get("host") and dn is not None:
            node = _node_for(cmap, str(f["host"]), dn)
            node.cm_node = node.cm_node or cm_node
            _note(node, "cm_ctl query")
        elif ev.kind == "cm_cms_state" and f.get("host") and cm_node is not None:
            node = _node_for(cmap, str(f["host"]), None)
            node.cm_node = node.cm_node or cm_node
            _note(node, "cm_ctl query")
        elif ev.kind == "cm_resource_state" and f.get("host"):
            node = _node_for(cmap, str(f["host"]), None)
            node.cm_node = node.cm_node or cm_node
            inst = f.get("instance")
            if isinstance(inst, int) and f.get("res") == "dss":
                node.dss_instance = inst
            elif isinstance(inst, int) and f.get("res") == "dms_res":
                node.dn_instance = node.dn_instance or inst
            _note(node, "cm_ctl query")
    # 2. folders: <host>/.../dn_6001/
    for file, (host, dn) in file_hints.items():
        if (host or dn) and not (host in cmap.aliases and dn is None) and file not in copies:
            node = _node_for(cmap, host, dn)
            _note(node, "bundle folders")
    # 3. log content: %a of background threads, Node:N in a known instance's file, DMS plans.
    #    A file with neither host nor instance folder (a pasted log) is identified by content,
    #    and file_hints is updated so that its events get that node.
    inst_votes: dict[str, Counter[int]] = {}
    for ev in survey.content:
        host, dn = file_hints.get(ev.file, (None, None))
        named_dn = None if dn else app_instance(ev.fields.get("app"))
        if named_dn is not None:
            node = _node_for(cmap, host, named_dn)
            _note(node, "pg_log application name")
            dn = named_dn
            file_hints[ev.file] = (host, dn)
        key = host or (f"dn_{dn}" if dn else None) or f"file:{ev.file}"
        inst = ev.fields.get("inst_id") if ev.kind in _INST_KINDS else None
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
    # Other systems: hosts and ids their lines name (see the module docstring).
    _named_nodes(cmap, survey, file_hints, file_ids or {})
    # 4. convention for what is still unknown (openGauss nodes only)
    assumed = False
    for node in cmap.nodes:
        # a host may also hold other systems' logs (its syslog): openGauss ids make it one
        if node.system not in (None, OPENGAUSS) and node.dn_instance is None \
                and node.dms_inst is None:
            continue
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
    cmap.nodes.sort(key=lambda n: (n.cm_node or 99, n.dn_instance or 0, _id_order(n), n.key))
    return cmap


def _id_order(node: ClusterNode) -> tuple[tuple[str, int, str], ...]:
    return tuple((space, value if isinstance(value, int) else 0, str(value))
                 for space, value in sorted(node.ids.items()))


def _folder_aliases(survey: _Survey, file_hints: dict[str, tuple[str | None, int | None]]
                    ) -> dict[str, str]:
    """Folder hosts whose files' lines all name one other host (``origin_host``)."""
    named: dict[str, set[str]] = {}
    for file, hosts in survey.origin_hosts.items():
        host, _ = file_hints.get(file, (None, None))
        if host is None:
            continue
        named.setdefault(host, set()).update(h or host for h in hosts)
    return {host: next(iter(names)) for host, names in named.items()
            if len(names) == 1 and host not in names}


def _host_node(cmap: ClusterMap, host: str, system: str | None, evidence: str) -> ClusterNode:
    node = cmap.by_host(host)
    if node is None:
        node = ClusterNode(key=host, host=host)
        cmap.nodes.append(node)
    if node.system is None:
        node.system = system
    _note(node, evidence)
    return node


def _id_node(cmap: ClusterMap, space: str, value: Any, system: str | None,
             evidence: str) -> ClusterNode:
    node = cmap.by_id(space, value)
    if node is None:
        node = ClusterNode(key=f"{space.replace('_', '-')}-{value}", system=system,
                           ids={space: value})
        cmap.nodes.append(node)
    _note(node, evidence)
    return node


def _named_nodes(cmap: ClusterMap, survey: _Survey,
                 file_hints: dict[str, tuple[str | None, int | None]],
                 file_ids: dict[str, tuple[tuple[str, int], ...]]) -> None:
    systems = survey.systems
    per_node: dict[str, Counter[str]] = {}
    for (file, system), count in survey.per_file.items():
        host, _ = file_hints.get(file, (None, None))
        node = cmap.by_host(host)
        if node is not None:
            per_node.setdefault(node.key, Counter())[system] += count
    for node in cmap.nodes:  # the system most of a host folder's lines come from
        if node.system is None and node.key in per_node:
            node.system = per_node[node.key].most_common(1)[0][0]
    # a file that names its node (ndb_2_out.log) binds that id to its folder's host
    for file, ids in file_ids.items():
        host, _ = file_hints.get(file, (None, None))
        if host is None or not ids:
            continue
        node = _host_node(cmap, host, systems.get(file), "bundle folders")
        for space, value in ids:
            node.ids.setdefault(space, value)
        _note(node, "file name")
    # one event naming a node by host and by id binds them; then every named node exists
    for role, naming in (("origin", survey.origin), ("subject", survey.subject)):
        what = "the lines it wrote" if role == "origin" else "other nodes' lines"
        for ev in naming:
            named = dict(_named(ev.fields, getattr(field_roles(ev.fields), role)))
            host = named.pop("host", None)
            if host is not None:
                node = _host_node(cmap, str(host), ev.system, what)
                for space, value in named.items():
                    other = cmap.by_id(space, value)
                    if other is None:
                        node.ids.setdefault(space, value)
                    elif other is not node and other.host is None:
                        _merge(cmap, other, node)
                continue
            for space, value in named.items():
                _id_node(cmap, space, value, ev.system, what)


def _merge(cmap: ClusterMap, gone: ClusterNode, into: ClusterNode) -> None:
    """A node first known by id only turns out to be a host already on the map."""
    for space, value in gone.ids.items():
        into.ids.setdefault(space, value)
    for what in gone.evidence:
        _note(into, what)
    cmap.nodes.remove(gone)


def _note(node: ClusterNode, what: str) -> None:
    if what not in node.evidence:
        node.evidence.append(what)
