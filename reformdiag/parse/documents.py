"""Parse stage: transformers for whole-document formats (layout: document).

Tool output such as ``cm_ctl query`` is a document of sections whose columns depend on the
command's flags; the grammar classifies its lines and these functions name the cells from
each section's header. They return one Event per snapshot, per row and per state block.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from lark import Token, Tree

from reformdiag.model import Event
from reformdiag.parse.spec import FormatSpec, as_number
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


DOCUMENT_TRANSFORMERS: dict[str, Callable[..., list[Event]]] = {"cm_ctl_query": cm_ctl_query}
