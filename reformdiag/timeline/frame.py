"""Timeline stage: the pandas frame of kept events (pandas is imported only here, lazily)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reformdiag.model import Event, level_rank

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ["time", "node", "source", "level", "kind", "message", "file", "line", "module",
           "fields", "time_note"]
CATEGORIES = ("node", "source", "level", "kind", "module", "file")  # repeated strings

# Kinds that are routine background even though a template names them: shown with --all.
ROUTINE_KINDS = frozenset({
    "rhb_matrix_print", "rhb_base_time", "rhb_network_timeout", "redo_progress", "redo_speed",
    "peer_connected", "reform_step_enter", "reform_step_success", "reform_phase",
    "mes_listening", "mes_init_start", "mes_init_success", "cm_row", "dms_reform_init",
    "log_file_added", "resource_registration", "connection_closed", "reform_members",
})
ALWAYS_NOTABLE_SOURCES = frozenset({"cm_ctl_query"})


def is_notable(ev: Event) -> bool:
    """WARNING and above, and every named event that is not routine background."""
    if level_rank(ev.level) >= level_rank("warning"):
        return True
    if ev.source in ALWAYS_NOTABLE_SOURCES:
        return ev.kind in ("cm_ctl_query", "cm_dn_state", "cm_cluster_state", "cm_ctl_unreachable")
    return ev.kind != "log" and ev.kind not in ROUTINE_KINDS


def event_row(ev: Event) -> dict[str, Any]:
    return {
        "time": ev.time, "node": ev.node, "source": ev.source, "level": ev.level,
        "kind": ev.kind, "message": ev.message, "file": ev.file, "line": ev.line,
        "module": ev.module, "fields": ev.fields, "time_note": ev.time_note,
    }


def to_frame(events: list[Event]) -> pd.DataFrame:
    """Events as a frame with compact dtypes (categories for the repeated strings)."""
    import pandas as pd

    frame = pd.DataFrame([event_row(e) for e in events], columns=COLUMNS)
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    for col in CATEGORIES:
        frame[col] = frame[col].astype("category")
    frame["line"] = frame["line"].astype("int32")
    return frame
