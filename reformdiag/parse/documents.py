"""Parse stage: transformers for whole-document formats (layout: document).

Tool output such as ``cm_ctl query`` is a document of sections whose columns depend on the
command's flags; the grammar classifies its lines and these functions name the cells from
each section's header. They return one Event per snapshot, per row and per state block.
An NDB error log is a document of crash blocks (one Event each), an obclient session
transcript a document of statements and their results (one Event per statement).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from lark import Token, Tree

from reformdiag.model import Event
from reformdiag.parse.spec import FormatSpec, Template, as_number, normalise_message
from reformdiag.parse.timestamps import read_timestamp

# One replica cell of the Datanode State table (formats.md 3.4), split on " | " first.
_DN_CELL = re.compile(
    r"^(?P<cm_node>\d+)\s+(?P<host>\S+)(?:\s+(?P<ip>\S+))?\s+(?P<dn_instance>\d+)"
    r"(?:\s+(?P<port>\d+))?(?:\s+(?P<datadir>/\S*))?\s+(?P<static_role>[PSRC])\s+"
    r"(?P<role>Main Standby|Cascade Standby|\S+)\s+(?P<state>.+?)\s*$"
)
_DN_CELL_IP = re.compile(_DN_CELL.pattern.replace(r"(?:\s+(?P<ip>\S+))?", r"\s+(?P<ip>\S+)"))
_DATE_FORMATS = ("%a %b %d %H:%M:%S %Y",)
_ZONE_WORD = re.compile(r" [A-Z]{2,5}([+-]\d+)? (?=\d{4}$)")
_ABNORMAL_DN = {"Unknown", "Need repair", "Manually stopped", "Disk damaged", "Port conflicting",
                "Build failed", "CoreDump", "ReadOnly"}


def _read_date(text: str) -> datetime | None:
    text = text.strip()
    if text[:4].isdigit():
        return read_timestamp(text[:23])[0]
    bare = _ZONE_WORD.sub(" ", text)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(bare, fmt)
        except ValueError:
            continue
    return None


def _title_kind(title: str) -> str:
    words = title.strip("[] ").split()
    return words[0].lower() if words else ""


def cm_ctl_query(
    tree: Tree, *, spec: FormatSpec, file: str, first_line: int, host: str | None
) -> list[Event]:
    """Events of a saved ``cm_ctl query`` output. Example row -> event::

        1  openGauss169 xx.xx.xx.xx  6001 3500   /data/.../dn1 P Down    Manually stopped
        -> Event(kind='cm_dn_state', fields={cm_node: 1, host: 'openGauss169',
                 dn_instance: 6001, static_role: 'P', role: 'Down', state: 'Manually stopped'})
    """
    events: list[Event] = []
    snapshot: dict[str, Any] = {"index": 0, "time": None, "open": False}

    def emit(kind: str, level: str, token: Token, message: str, fields: dict[str, Any]) -> None:
        line = first_line + (token.line or 1) - 1
        events.append(Event(
            source=spec.id, system=spec.system, file=file, line=line, kind=kind, level=level,
            message=message, raw=str(token).rstrip(), local_time=snapshot["time"], host=host,
            fields={"snapshot": snapshot["index"], **fields},
        ))

    def open_snapshot(token: Token, command: str) -> None:
        snapshot["index"] += 1
        snapshot["open"] = True
        emit("cm_ctl_query", "info", token, command or "cm_ctl query output",
             {"command": command})

    for item in tree.children:
        if not isinstance(item, Tree):
            continue
        token = next(t for t in item.scan_values(lambda v: isinstance(v, Token)))
        if item.data == "prompt":
            open_snapshot(token, str(token).split("]$", 1)[-1].strip() or str(token).strip())
        elif item.data == "date":
            snapshot["time"] = _read_date(str(token))
            for ev in events:  # a date printed before the query belongs to its snapshot
                if ev.fields.get("snapshot") == snapshot["index"] and ev.local_time is None:
                    ev.local_time = snapshot["time"]
        elif item.data == "note":
            text = str(token).strip()
            if "can't connect to cm_server" in text:
                emit("cm_ctl_unreachable", "error", token, text, {})
            elif text.startswith("cm_ctl:"):
                emit("cm_ctl_note", "warning", token, text, {})
        elif item.data == "section":
            if not snapshot["open"]:
                open_snapshot(token, "")
            _section(item, emit)
    return events


def _section(section: Tree, emit: Callable[..., None]) -> None:
    title = next(t for t in section.children if isinstance(t, Token))
    kind = _title_kind(str(title))
    body = next((c for c in section.children if isinstance(c, Tree)), None)
    if body is None:
        return
    if body.data == "pairs":
        pairs: dict[str, Any] = {}
        for tok in body.children:
            key, _, value = str(tok).partition(":")
            pairs[key.strip()] = value.strip()
        state = pairs.get("cluster_state", "")
        level = "info" if state == "Normal" and pairs.get("pausing", "No") != "Yes" else "warning"
        emit("cm_cluster_state", level, body.children[0],
             f"cluster_state {state}" + (", pausing" if pairs.get("pausing") == "Yes" else ""),
             pairs)
        return
    header = str(body.children[0])
    has_ip = "node_ip" in header.split()
    for row in (c for c in body.children if isinstance(c, Tree) and c.data == "row"):
        tok = row.children[0]
        text = str(tok)
        if kind == "datanode":
            for cell in text.split(" | "):
                m = (_DN_CELL_IP if has_ip else _DN_CELL).match(cell.strip())
                if m is None:
                    emit("cm_row_unreadable", "warning", tok, cell.strip(), {})
                    continue
                f = {k: as_number(v) for k, v in m.groupdict().items() if v is not None}
                abnormal = f["role"] == "Down" or f["state"] in _ABNORMAL_DN
                emit("cm_dn_state", "warning" if abnormal else "info", tok,
                     f"dn_{f['dn_instance']} {f['static_role']} {f['role']} {f['state']}", f)
        else:
            cells = text.split()
            f: dict[str, Any] = {"cm_node": as_number(cells[0])}
            if len(cells) > 1:
                f["host"] = cells[1]
            rest = cells[2:]
            if has_ip and rest:
                f["ip"] = rest.pop(0)
            if kind == "defined" and len(rest) >= 3:
                f["res"], f["instance"] = rest[0], as_number(rest[1])
                f["state"] = " ".join(rest[2:])
                level = "info" if f["state"].startswith("OnLine") else "warning"
                emit("cm_resource_state", level, tok,
                     f"{f['res']} {f['instance']} {f['state']}", f)
            elif kind == "cmserver" and rest:
                f["instance"] = as_number(rest[0])
                f["state"] = rest[-1]
                emit("cm_cms_state", "warning" if f["state"] == "Down" else "info", tok,
                     f"cm_server {f['instance']} {f['state']}", f)
            else:
                emit("cm_row", "info", tok, text.strip(), f)


def _classify(spec: FormatSpec, text: str) -> tuple[Template | None, dict[str, Any]]:
    """The first of the spec's templates (in spec order) whose anchor and pattern match."""
    for template in spec.templates:
        if any(a in text for a in template.anchors):
            fields = template.match(text)
            if fields is not None:
                return template, fields
    return None, {}


def _lines(tree: Tree) -> list[tuple[str, Token]]:
    """(rule, token) of every classified line of a document tree, in file order."""
    out = []
    for item in tree.children:
        if isinstance(item, Tree):
            token = next(t for t in item.scan_values(lambda v: isinstance(v, Token)))
            out.append((str(item.data), token))
    return out


def ndb_error_log(
    tree: Tree, *, spec: FormatSpec, file: str, first_line: int, host: str | None
) -> list[Event]:
    """One Event per crash block of ``ndb_<id>_error.log``. Example block -> event::

        Time: Saturday 13 May 2017 - 17:27:22
        Status: Temporary error, restart node
        Message: Node declared dead. See error log for details (Arbitration error)
        Error: 2315
        Error data: We(1) have been declared dead by 2 (via 2) reason: Heartbeat failure(4)
        -> Event(kind='ndb_node_exit', message='Error 2315: Node declared dead. See error log
           for details (Arbitration error); We(1) have been declared dead by 2 ...',
           fields={error: 2315, own_node: 1, by_node: 2, fail_cause: 4, status: ...})
    """
    blocks: list[tuple[Token, list[Token]]] = []
    for rule, token in _lines(tree):
        if rule == "time_line":
            blocks.append((token, []))
        elif blocks and rule == "field_line":
            blocks[-1][1].append(token)
    events = []
    for head, lines in blocks:
        fields: dict[str, Any] = {}
        for tok in lines:
            key, _, value = str(tok).partition(":")
            name = key.strip().lower().replace(" ", "_")
            fields.setdefault(name, as_number(value.strip()) if name != "error_data"
                              else value.strip())
        text = normalise_message(" ".join(str(t) for t in lines))
        template, found = _classify(spec, text)
        fields.update(found)
        moment, note = read_timestamp(str(head).partition(":")[2], spec.timestamp_formats)
        message = f"Error {fields.get('error', '?')}: {fields.get('message', '')}".rstrip()
        if fields.get("error_data"):
            message += f"; {fields['error_data']}"
        event = Event(
            source=spec.id, system=spec.system, file=file,
            line=first_line + (head.line or 1) - 1, kind=template.kind if template else
            "ndb_node_exit", level=template.level if template and template.level else "error",
            message=message, raw="", local_time=moment, host=host,
            fields=fields, line_count=1 + len(lines))
        if note:
            event.time_note = note
        events.append(event)
    return events


_ADDRESS = re.compile(r"'([^']+)'")
_ALTER_SYSTEM = re.compile(r"^\s*ALTER\s+SYSTEM\s+(?P<action>FORCE\s+STOP|STOP|START|ISOLATE)\s+"
                           r"(?P<target>SERVER|ZONE)\b(?P<args>.*)$", re.IGNORECASE | re.DOTALL)


def obclient_session(
    tree: Tree, *, spec: FormatSpec, file: str, first_line: int, host: str | None
) -> list[Event]:
    """One Event per statement of a saved obclient session, with its result. Example::

        obclient [oceanbase]> ALTER SYSTEM STOP SERVER '10.0.0.2:2882';
        ERROR 4179 (HY000): Tenant(1001) LS(1001) log not sync, stop server not allowed
        -> Event(kind='ob_isolation_refused', fields={action: 'stop', target: 'server',
                 servers: ['10.0.0.2:2882'], subject_host: '10.0.0.2:2882', error: 4179,
                 refusal: 'log_not_sync', tenant_id: 1001, ls_id: 1001, ...})

    A session prints no time: a ``date`` output line (``\\! date``) dates what follows it.
    Statements speak for the whole cluster (``scope: cluster``), not for the client host.
    """
    events: list[Event] = []
    moment: datetime | None = None
    pending: dict[str, Any] | None = None

    def close(result: Token | None) -> None:
        nonlocal pending
        if pending is None:
            return
        statement = " ".join(pending["text"]).strip()
        outcome = "none" if result is None else str(result).strip()
        fields: dict[str, Any] = {"statement": statement, "result": outcome, "scope": "cluster"}
        admin = _ALTER_SYSTEM.match(statement)
        if admin:
            fields["action"] = "_".join(admin.group("action").lower().split())
            fields["target"] = admin.group("target").lower()
            servers = _ADDRESS.findall(admin.group("args"))
            if fields["target"] == "server" and servers:
                fields["servers"] = servers
                fields["subject_host"] = servers[0]
        template, found = _classify(spec, normalise_message(f"{statement} => {outcome}"))
        fields.update(found)
        failed = outcome.startswith("ERROR")
        kind = template.kind if template else "obclient_statement"
        level = (template.level if template and template.level else
                 "warning" if failed else "info")
        token = pending["token"]
        events.append(Event(
            source=spec.id, system=spec.system, file=file,
            line=first_line + (token.line or 1) - 1, kind=kind, level=level,
            message=f"{statement} -> {outcome}", raw=str(token).rstrip(), local_time=moment,
            host=host, fields=fields, line_count=pending["lines"] + (result is not None)))
        pending = None

    for rule, token in _lines(tree):
        text = str(token)
        if rule == "prompt":
            close(None)
            statement = text.split(">", 1)[1].strip() if ">" in text else text
            # client commands (`\! date`, `\T tee.log`) are not statements
            if statement and not statement.startswith("\\"):
                pending = {"text": [statement], "token": token, "lines": 1}
        elif rule == "more" and pending is not None:
            pending["text"].append(text.split("->", 1)[1].strip())
            pending["lines"] += 1
        elif rule in ("error", "ok"):
            close(token)
        elif rule == "date":
            moment = _read_date(text)
    close(None)
    return events


DOCUMENT_TRANSFORMERS: dict[str, Callable[..., list[Event]]] = {
    "cm_ctl_query": cm_ctl_query, "ndb_error_log": ndb_error_log,
    "obclient_session": obclient_session}
