"""Plain data shared by every stage: events, unparsed lines, per-file accounting.

Imports nothing from reformdiag, so any stage may use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Severity of a log record, normalised across formats (pg_log LOG == info, DMS WARN == warning).
LEVELS: tuple[str, ...] = ("debug", "info", "notice", "warning", "error", "fatal", "panic")
LEVEL_RANK: dict[str, int] = {name: rank for rank, name in enumerate(LEVELS)}


def level_rank(level: str) -> int:
    """Rank of a normalised level; unknown levels rank as info."""
    return LEVEL_RANK.get(level, LEVEL_RANK["info"])


@dataclass(slots=True)
class Event:
    """One log record (or one snapshot row) turned into a fact on the timeline."""

    source: str  # format id, e.g. "opengauss_pg_log"
    system: str  # "opengauss", "ndb", ...
    file: str  # display path inside the bundle
    line: int  # 1-based physical line of the record's first line
    kind: str  # template kind ("reform_start") or "log" for an unclassified record
    level: str  # one of LEVELS
    message: str
    raw: str
    local_time: datetime | None = None  # wall clock as written in the log (naive)
    utc_offset_min: int | None = None  # offset written on the line itself (DMS "UTC+8")
    module: str = ""
    host: str | None = None  # host folder the file came from
    node: str = ""  # canonical node, set by the timeline's cluster map
    fields: dict[str, Any] = field(default_factory=dict)
    time: datetime | None = None  # UTC, set by the timeline stage
    time_note: str = ""  # how the UTC time was obtained when not from the line itself
    line_count: int = 1  # physical lines of the record (continuations included)


@dataclass(slots=True)
class Unparsed:
    """A line that no grammar accepted, with the reason why."""

    file: str
    line: int
    reason: str
    text: str


@dataclass(slots=True)
class FileReport:
    """What happened to one input file: its format, node and line accounting.

    Invariant for analysed files: ``lines == records + continuation + unparsed``.
    """

    path: str
    status: str = "analysed"  # analysed | not recognised | error | empty | repeated (a path
    #                            whose files another path given holds)
    reason: str = ""
    format: str | None = None
    system: str | None = None
    host: str | None = None
    node: str | None = None
    size: int = 0
    lines: int = 0
    records: int = 0  # lines that start a record (parsed header or kept & parsed)
    continuation: int = 0  # lines attached to the record before them
    unparsed: int = 0
    events: int = 0  # records kept for the timeline (hits, WARNING and above)
    first: datetime | None = None  # local wall-clock span of the file
    last: datetime | None = None
    utc_offset_min: int | None = None
    notes: list[str] = field(default_factory=list)
    unparsed_lines: list[Unparsed] = field(default_factory=list)

    @property
    def accounted(self) -> bool:
        return self.lines == self.records + self.continuation + self.unparsed


@dataclass(slots=True)
class ClusterNode:
    """One member of the cluster and every name the logs use for it."""

    key: str  # canonical node name used on every event
    host: str | None = None
    cm_node: int | None = None  # CM node number (1-based, cm_ctl "node" column)
    dn_instance: int | None = None  # datanode instance id (6001...)
    dms_inst: int | None = None  # DMS inst_id (0-based)
    dss_instance: int | None = None  # DSS instance id (20001...)
    evidence: list[str] = field(default_factory=list)
    system: str | None = None  # the clustered system whose logs name this node
    # Node ids of other systems, by id space: {"nodeid": 13} (corosync), {"ndb_node": 2} (NDB).
    ids: dict[str, int | str] = field(default_factory=dict)

    def label(self) -> str:
        """Human label: ``openGauss111 (inst 0, dn_6001)``, ``host-a (nodeid 1)``."""
        bits = []
        if self.dms_inst is not None:
            bits.append(f"inst {self.dms_inst}")
        if self.dn_instance is not None:
            bits.append(f"dn_{self.dn_instance}")
        bits.extend(f"{ID_WORDS.get(space, space)} {value}" for space, value in self.ids.items()
                    if not self.key.endswith(f"-{value}"))
        return f"{self.key} ({', '.join(bits)})" if bits else self.key


# How an id space is said in a node label (``ndb-dn1 (node 1)``): the words its operators use.
ID_WORDS: dict[str, str] = {"ndb_node": "node", "nodeid": "nodeid"}


SEVERITIES: tuple[str, ...] = ("info", "low", "medium", "high", "critical")
SEVERITY_RANK: dict[str, int] = {name: rank for rank, name in enumerate(SEVERITIES)}


@dataclass(slots=True)
class Evidence:
    """One log line quoted by a finding."""

    role: str  # the selection (or episode) it came from
    time: datetime | None
    node: str
    file: str
    line: int
    text: str
    kind: str = ""


@dataclass(slots=True)
class Finding:
    """A rule that fired: what, where, why, and what to do."""

    rule: str
    name: str
    title: str
    severity: str
    references: list[str]
    nodes: list[str]
    start: datetime | None
    end: datetime | None
    root_cause: str
    remediation: list[str]
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    evidence: list[Evidence] = field(default_factory=list)
    symptoms: list[Finding] = field(default_factory=list)  # later findings this one explains
    status: str = "fired"  # fired | not evaluable
    missing: list[str] = field(default_factory=list)


@dataclass(slots=True)
class RuleOutcome:
    """What happened to one rule on one bundle (for JUnit, coverage, --fail-on-missing)."""

    rule: str
    name: str
    title: str
    severity: str
    status: str  # fired | passed | not evaluable
    missing: list[str] = field(default_factory=list)
    findings: int = 0
