"""Diagnose stage: episode builders. Derived events that need reasoning across records.

Episodes are Events with ``source == "episode"`` so rules select them like any other event:

* ``first_round_reform``: a node's start-up reform, from ``first-round reform start wait`` to
  success or failure, with the membership change (disconnect / kick out) that failed it;
* ``reform_round``: a reform on one node (type, role, outcome, duration);
* ``failover_attempt``: one ``failover trigger`` to its outcome (success, backends could not
  exit, ...), numbered within a series on the node;
* ``failover_recovery``: a series of attempts up to ``ready to accept connections`` (the
  recovery time, against the 30 s objective of case OG-C03);
* ``switchover``: a planned switchover and its outcome;
* ``kick_out``: CM removed a node (reason, and whether and when it joined again);
* ``role_snapshot`` / ``primary_overlap``: who was primary when, and two primaries at once.

Other systems' episodes (corosync rings, fencing, NDB starts and presidents, OceanBase
leaders and server leases) are built in ``membership_episodes.py``.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from reformdiag.model import Event

EPISODE = "episode"
RTO_OBJECTIVE_S = 30.0  # OG-C03: failover recovery is expected within 30 s
SERIES_GAP = timedelta(minutes=10)  # attempts further apart are separate incidents

FIRST_ROUND_END = {"first_round_reform_success": "success", "first_round_reform_failed": "failed",
                   "first_startup_failed": "failed"}
REFORM_FAIL = {"reform_failed", "reform_failed_in_recovery", "confirm_primary_failed",
               "reform_backends_stuck", "reform_cancel_backends_failed", "recovery_failed",
               "failover_failed_backends", "failover_threadpool_close_failed",
               "first_round_reform_failed", "switchover_failed", "reform_hang_exit",
               "db_exit_by_force", "recovery_trapped_in_page_request"}
REFORM_OK = {"reform_success", "reform_done", "standby_confirm_primary", "failover_success"}
FAILOVER_FAIL = {"failover_failed_backends": "backends could not exit",
                 "failover_threadpool_close_failed": "thread-pool sessions could not be closed",
                 "failover_clean_backends_failed": "reform failed while cleaning backends",
                 "xlog_reopen_failed": "xlog could not be reopened",
                 "reform_hang_exit": "reform hung and the database exited"}
MEMBERSHIP_CHANGE = {"node_disconnect", "node_kick_out", "reformer_kicked_out",
                     "connection_closed", "peer_connect_timeout", "mes_heartbeat_failed"}
CLAIM_END = {"switchover_demote_request", "switchover_demote_success", "instance_start",
             "first_round_reform_wait", "crash_terminate_all", "session_terminated_by_admin"}
PROCESS_GONE = {"shutdown_complete", "process_exit", "server_process_exits", "fast_shutdown",
                "immediate_shutdown", "process_start_marker", "dms_init_start"}


@dataclass
class _Ctx:
    events: list[Event]

    def on(self, node: str) -> list[Event]:
        return [e for e in self.events if e.node == node]


def _episode(kind: str, node: str, start: Event, end: Event | None, level: str,
             message: str, fields: dict[str, Any], parts: Iterable[Event]) -> Event:
    last = end or start
    return Event(
        source=EPISODE, system=start.system, file=start.file, line=start.line, kind=kind,
        level=level, message=message, raw="", local_time=start.local_time, host=start.host,
        node=node, time=start.time,
        fields={**fields, "end": last.time, "parts": list(parts)},
    )


def _secs(a: datetime | None, b: datetime | None) -> float | None:
    if a is None or b is None:
        return None
    return round((b - a).total_seconds(), 3)


class _Next:
    """Where the next event of some kinds is, from any position of a time-sorted list: one
    backward pass, then each question is a lookup. A node restarting in a loop (thousands of
    first rounds) made every question a scan to the end: 75 s for 2,000 restarts."""

    def __init__(self, events: list[Event], kinds: Iterable[str]) -> None:
        wanted = frozenset(kinds)
        self.events = events
        self.at = [len(events)] * (len(events) + 1)
        for i in range(len(events) - 1, -1, -1):
            self.at[i] = i if events[i].kind in wanted else self.at[i + 1]

    def after(self, i: int) -> Event | None:
        """The first such event at index ``i`` or later."""
        j = self.at[min(i, len(self.events))]
        return self.events[j] if j < len(self.events) else None


def build_episodes(events: list[Event]) -> list[Event]:
    timed = [e for e in events if e.time is not None and e.source != EPISODE]
    timed.sort(key=lambda e: e.time)
    ctx = _Ctx(timed)
    nodes = sorted({e.node for e in timed if e.node})
    out: list[Event] = []
    times = [e.time for e in timed]
    for node in nodes:
        mine = ctx.on(node)
        out.extend(_first_rounds(node, mine, timed, times))
        out.extend(_reform_rounds(node, mine))
        out.extend(_failovers(node, mine))
        out.extend(_switchovers(node, mine))
    out.extend(_kick_outs(timed, times))
    out.extend(_rhb_matrices(timed))
    out.extend(_roles(timed))
    # corosync/DLM, NDB and OceanBase (imported here: that module builds on _episode)
    from reformdiag.diagnose.membership_episodes import build_membership_episodes

    out.extend(build_membership_episodes(timed, _episode))
    out.sort(key=lambda e: e.time)
    return out


_EXITS = ("fast_shutdown", "shutdown_complete", "process_exit")
_RESTARTS = ("process_start_marker", "dms_init_start", "instance_start", "first_round_reform_wait")


def _first_rounds(node: str, mine: list[Event], everyone: list[Event],
                  times: list[datetime]) -> list[Event]:
    out: list[Event] = []
    starts = [i for i, e in enumerate(mine) if e.kind == "first_round_reform_wait"]
    if not starts:
        return out
    mine_times = [e.time for e in mine]
    ends = _Next(mine, [*FIRST_ROUND_END, "first_round_reform_wait"])
    exits, restarts = _Next(mine, _EXITS), _Next(mine, _RESTARTS)
    for i in starts:
        start = mine[i]
        end = ends.after(i + 1)
        if end is not None and end.kind == "first_round_reform_wait":
            end = None
        outcome = FIRST_ROUND_END.get(end.kind, "unknown") if end else "unfinished"
        fields: dict[str, Any] = {"outcome": outcome, "inst_id": start.fields.get("inst_id"),
                                  "duration_s": _secs(start.time, end.time if end else None)}
        parts = [start] + ([end] if end else [])
        level = "info"
        if outcome == "failed" and end is not None:
            level = "warning"
            cause = _membership_cause(node, start.time - timedelta(seconds=10),
                                      end.time + timedelta(seconds=30), everyone, times,
                                      end.time)
            if cause is not None:
                cause_node, cause = cause
                fields["cause_kind"] = cause.kind
                fields["cause_node"] = cause_node
                fields["cause_text"] = _CAUSES[cause.kind][1]
                parts.append(cause)
            exit_ev = exits.after(bisect.bisect_left(mine_times, end.time))
            if exit_ev is not None:
                fields["exited"] = True
                parts.append(exit_ev)
            restart = restarts.after(bisect.bisect_right(mine_times, end.time))
            if restart is not None:
                fields["restarted_s"] = _secs(end.time, restart.time)
                parts.append(restart)
        msg = f"first-round reform of {node}: {outcome}"
        if fields.get("cause_node"):
            msg += f" ({fields['cause_node']}: {fields['cause_text']})"
        out.append(_episode("first_round_reform", node, start, end, level, msg, fields, parts))
    return out


# Evidence that another node left the cluster, strongest first, with how to say it.
_CAUSES = {
    "node_kick_out": (0, "CM kicked it out of the cluster"),
    "resource_restart": (1, "its instance went down and CM restarted it"),
    "resource_restart_limit": (1, "its instance went down and CM gave up restarting it"),
    "reformer_kicked_out": (1, "it was kicked out as reformer"),
    "node_disconnect": (2, "it dropped off the DMS interconnect"),
    "recv_pipe_closed": (2, "its interconnect pipes closed"),
    "send_pipe_closed": (2, "its interconnect pipes closed"),
    "process_start_marker": (3, "it restarted"),
    "first_round_reform_wait": (3, "it restarted"),
    "mes_heartbeat_failed": (4, "MES heartbeats to it failed"),
    "peer_connect_timeout": (4, "connections to it timed out"),
}


def _membership_cause(node: str, lo: datetime, hi: datetime, everyone: list[Event],
                      times: list[datetime], pivot: datetime) -> tuple[str, Event] | None:
    """The evidence that another node left the cluster while this node's reform ran.

    Disconnects logged while this node's own MES shuts down (after its ``mes_uninit start``)
    are consequences, not causes, and are ignored. ``times``: of ``everyone``, sorted.
    """
    window = everyone[bisect.bisect_left(times, lo):bisect.bisect_right(times, hi)]
    uninit = next((e.time for e in window if e.node == node and e.kind == "mes_uninit_start"),
                  None)
    cands = []
    for e in window:
        if e.kind not in _CAUSES:
            continue
        other = e.fields.get("peer_node") or e.fields.get("subject_node")
        if not other and isinstance(e.fields.get("peer_inst"), int):
            # a peer whose logs are not in the bundle (only the failing node's were sent)
            other = f"DMS instance {e.fields['peer_inst']}"
        if e.kind in ("process_start_marker", "first_round_reform_wait"):
            other = e.node
        if not other or other == node:
            continue
        if e.kind == "resource_restart" and e.fields.get("res") not in ("dms_res", "dss"):
            continue
        if e.kind == "node_disconnect" and e.node == node and uninit and e.time >= uninit:
            continue
        cands.append((other, e))
    if not cands:
        return None
    return min(cands, key=lambda c: (_CAUSES[c[1].kind][0],
                                     abs((c[1].time - pivot).total_seconds())))


def _reform_rounds(node: str, mine: list[Event]) -> list[Event]:
    out = []
    starts = [i for i, e in enumerate(mine) if e.kind == "reform_start"]
    for n, i in enumerate(starts):
        start = mine[i]
        stop = starts[n + 1] if n + 1 < len(starts) else len(mine)
        window = mine[i + 1:stop]
        end = next((e for e in window if e.kind in REFORM_FAIL or e.kind in REFORM_OK), None)
        if end is None:
            end = next((e for e in window if e.kind in PROCESS_GONE), None)
            outcome = "interrupted" if end is not None else (
                "superseded" if stop < len(mine) and n + 1 < len(starts) else "unfinished")
        else:
            outcome = "failed" if end.kind in REFORM_FAIL else "success"
        role = start.fields.get("role")
        rtype = str(start.fields.get("reform_type", "unknown"))
        fields = {"reform_type": rtype, "role": {1: "reformer", 2: "partner"}.get(role, role),
                  "outcome": outcome, "duration_s": _secs(start.time, end.time if end else None),
                  "end_kind": end.kind if end else None}
        level = "warning" if outcome in ("failed", "interrupted") else "info"
        out.append(_episode("reform_round", node, start, end, level,
                            f"{rtype} on {node} ({fields['role']}): {outcome}"
                            + (f" after {fields['duration_s']:.1f} s" if fields["duration_s"]
                               is not None else ""), fields, [start] + ([end] if end else [])))
    return out


def _failovers(node: str, mine: list[Event]) -> list[Event]:
    out: list[Event] = []
    triggers = [i for i, e in enumerate(mine) if e.kind == "failover_trigger"]
    series: list[list[Event]] = []
    attempts: list[Event] = []
    for n, i in enumerate(triggers):
        start = mine[i]
        stop = triggers[n + 1] if n + 1 < len(triggers) else len(mine)
        window = mine[i + 1:stop]
        end = next((e for e in window if e.kind in FAILOVER_FAIL or e.kind in
                    ("failover_success", "ready_to_accept_connections")), None)
        if end is None:
            end = next((e for e in window if e.kind in PROCESS_GONE), None)
            outcome, reason = ("aborted", "the process went away") if end else (
                "unfinished", None)
        elif end.kind in FAILOVER_FAIL:
            outcome, reason = "failed", FAILOVER_FAIL[end.kind]
        else:
            outcome, reason = "success", None
        if attempts and start.time - attempts[-1].time > SERIES_GAP:
            series.append(attempts)
            attempts = []
        mode = "restart" if any(e.kind == "failover_on_restart" for e in window[:20]) else (
            "online" if any(e.kind == "failover_online" for e in window[:20]) else "unknown")
        refused = sum(1 for e in window if e.kind == "connection_refused_pmstate"
                      and (end is None or e.time <= end.time))
        fields = {"attempt": len(attempts) + 1, "outcome": outcome, "reason": reason,
                  "mode": mode, "refused_connections": refused,
                  "duration_s": _secs(start.time, end.time if end else None)}
        parts = [start] + ([end] if end else [])
        ep = _episode("failover_attempt", node, start, end,
                      "warning" if outcome != "success" else "info",
                      f"failover attempt {fields['attempt']} on {node}: {outcome}"
                      + (f" ({reason})" if reason else ""), fields, parts)
        attempts.append(ep)
        out.append(ep)
    if attempts:
        series.append(attempts)
    if series:
        mine_times = [e.time for e in mine]
        readies, successes = _Next(mine, ["ready_to_accept_connections"]), _Next(
            mine, ["failover_success"])
    for group in series:
        first = group[0]
        first_trigger = first.fields["parts"][0]
        k = bisect.bisect_left(mine_times, first.time)
        ready, success = readies.after(k), successes.after(k)
        done = ready or success
        recovery = _secs(first.time, done.time if done else None)
        failed = [a for a in group if a.fields["outcome"] in ("failed", "aborted")]
        fields = {"attempts": len(group), "failed_attempts": len(failed),
                  "first_outcome": group[0].fields["outcome"],
                  "first_reason": group[0].fields["reason"],
                  "first_duration_s": group[0].fields["duration_s"],
                  "refused_connections": sum(a.fields["refused_connections"] for a in group),
                  "modes": [a.fields["mode"] for a in group],
                  "recovery_s": recovery, "objective_s": RTO_OBJECTIVE_S,
                  "objective_met": recovery is not None and recovery <= RTO_OBJECTIVE_S,
                  "recovered": done is not None,
                  "end_kind": done.kind if done else None}
        parts = [first_trigger] + [p for a in group[1:] for p in a.fields["parts"][:1]]
        parts += [p for a in failed for p in a.fields["parts"][1:2]]
        if done is not None:
            parts.append(done)
        level = "warning" if failed or not fields["objective_met"] else "info"
        msg = (f"failover on {node}: {len(group)} attempt(s), "
               + (f"recovered in {recovery:.1f} s" if recovery is not None else "not recovered")
               + f" (objective {RTO_OBJECTIVE_S:.0f} s)")
        out.append(_episode("failover_recovery", node, first_trigger, done, level, msg, fields,
                            parts))
    return out


def _switchovers(node: str, mine: list[Event]) -> list[Event]:
    out = []
    begins = {"switchover_start", "switchover_demote_request"}
    ends_ok = {"switchover_success", "switchover_promote_success", "switchover_demote_success"}
    ends_bad = {"switchover_failed", "switchover_promote_timeout", "switchover_demote_failed",
                "switchover_failed_after_ckpt", "switchover_demote_aborted",
                "switchover_lock_transferred_exit"}
    ends = ends_ok | ends_bad
    mine_times = [e.time for e in mine]
    i = 0
    while i < len(mine):
        start = mine[i]
        if start.kind not in begins:
            i += 1
            continue
        # its end within 10 minutes (the events are in time order)
        hi = bisect.bisect_right(mine_times, start.time + timedelta(minutes=10))
        at = next((j for j in range(i + 1, hi) if mine[j].kind in ends), None)
        end = mine[at] if at is not None else None
        outcome = "unfinished" if end is None else ("failed" if end.kind in ends_bad
                                                    else "success")
        role = "new primary" if start.kind == "switchover_start" else "old primary"
        fields = {"outcome": outcome, "role": role,
                  "duration_s": _secs(start.time, end.time if end else None)}
        out.append(_episode("switchover", node, start, end,
                            "warning" if outcome == "failed" else "info",
                            f"switchover on {node} as {role}: {outcome}", fields,
                            [start] + ([end] if end else [])))
        i = at + 1 if at is not None else i + 1
    return out


def _kick_outs(events: list[Event], times: list[datetime]) -> list[Event]:
    out: list[Event] = []
    seen: list[tuple[str, datetime]] = []
    joins = [i for i, e in enumerate(events) if e.kind == "node_join"]
    five = timedelta(seconds=5)
    for i, ev in enumerate(events):
        if ev.kind != "node_kick_out":
            continue
        subject = ev.fields.get("subject_node") or f"cm node {ev.fields.get('cm_node')}"
        if _seen_within(seen, subject, ev.time, five):
            continue  # the same kick out, echoed in key_event and the run log
        seen.append((subject, ev.time))
        near = [e for e in events[bisect.bisect_left(times, ev.time - five):
                                  bisect.bisect_right(times, ev.time + five)]
                if e.fields.get("cm_node") == ev.fields.get("cm_node")]
        reason_ev = next((e for e in near if e.kind.startswith("kick_out_")), None) or next(
            (e for e in near if e.kind == "agent_report_timeout"), None)
        reasons = {"kick_out_disk_heartbeat": "disk heartbeat timeout",
                   "kick_out_report_timeout": "resource stopped or agent report timeout",
                   "kick_out_network": "network disconnection",
                   "agent_report_timeout": "agent report timeout"}
        join = next((events[joins[m]] for m in range(bisect.bisect_right(joins, i), len(joins))
                     if events[joins[m]].fields.get("cm_node") == ev.fields.get("cm_node")), None)
        fields = {"subject_node": subject, "cm_node": ev.fields.get("cm_node"),
                  "reason": reasons.get(reason_ev.kind) if reason_ev else None,
                  "rejoined": join is not None,
                  "rejoin_s": _secs(ev.time, join.time if join else None)}
        parts = [ev] + ([reason_ev] if reason_ev else []) + ([join] if join else [])
        out.append(_episode("kick_out", subject, ev, join, "warning",
                            f"{subject} kicked out of the cluster"
                            + (f" ({fields['reason']})" if fields["reason"] else "")
                            + (f", rejoined after {fields['rejoin_s']:.0f} s" if join else
                               ", did not rejoin in these logs"), fields, parts))
    return out


def _seen_within(seen: list[tuple[str, datetime]], subject: str, when: datetime,
                 span: timedelta) -> bool:
    """Whether ``subject`` is in ``seen`` (time-ordered) less than ``span`` before ``when``."""
    for name, t in reversed(seen):
        if when - t >= span:
            return False
        if name == subject:
            return True
    return False


_NEVER = "1970-01-01"  # a cell for the node itself, or a link never heard from


def _cell_time(text: str) -> datetime:
    """``YYYY-MM-DD HH:MM:SS`` (fromisoformat is C code: 10x strptime, for ~36k cells a GB)."""
    if len(text) != 19 or text[10] != " ":
        raise ValueError(text)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:  # `2024-09-26 20:11+08` is 19 characters too (a damaged cell)
        raise ValueError(text)
    return moment


_ROW = re.compile(r"hb infos:\s*\|(.*)")


def _rhb_rows(print_: Event) -> list[str]:
    """The ``|t(1)|t(2)|...|`` rows of one print, from its lines (``ingest/grouping.py``
    joins a print's lines into one record)."""
    rows = []
    for line in print_.message.split("\n"):
        m = _ROW.search(line)
        if m:
            rows.append(m.group(1))
    return rows


def _rhb_matrices(events: list[Event]) -> list[Event]:
    """One ``rhb_matrix`` per print of cm_server's RHB heartbeat matrix (OG-C10, OG-C27).

    Each row is ``|t(1)|t(2)|...|``: the last heartbeat time per link, ``1970-01-01 08:00:00``
    for the node itself or a link never heard. A cell older than ``Network timeout`` seconds at
    ``Network base_time`` is a timed-out link; a row with no heartbeat at all is a silent node.
    A print is one ``rhb_matrix_print`` event with its header lines; a print cut in parts (its
    rows across a second, another thread's lines between them) is put together again here,
    and a header printed apart from its rows is found just before them.
    """
    out: list[Event] = []
    groups: list[list[Event]] = []
    # the Network timeout / base_time lines printed apart from the matrix, per file
    headers: dict[str, list[Event]] = {}
    # per file and thread: the matrix being printed and its last print
    last: dict[tuple[str, object], tuple[list[Event], Event]] = {}
    for e in events:  # one pass: at 1 GB a third of the events are prints
        kind = e.kind
        if kind == "rhb_matrix_print":
            key = (e.file, e.fields.get("tid"))
            open_ = last.get(key)
            # rows without a header go on the print before them of that thread (another
            # thread's lines may come between, a second may turn)
            if open_ is not None and e.line > open_[1].line \
                    and "timeout_s" not in e.fields and "base_time" not in e.fields \
                    and (e.time - open_[1].time).total_seconds() < 1:
                open_[0].append(e)
                last[key] = (open_[0], e)
            else:
                groups.append([e])
                last[key] = (groups[-1], e)
        elif kind == "rhb_network_timeout" or kind == "rhb_base_time":
            headers.setdefault(e.file, []).append(e)
    header_times = {f: [h.time for h in hs] for f, hs in headers.items()}
    for group in groups:
        first = group[0]
        timeout = first.fields.get("timeout_s")
        base_text = first.fields.get("base_time")
        around: list[Event] = []
        if timeout is None or base_text is None:
            mine = headers.get(first.file, [])
            hi = bisect.bisect_right(header_times[first.file], first.time) if mine else 0
            around = [h for h in mine[max(0, hi - 4):hi]
                      if (first.time - h.time).total_seconds() < 1]
            if timeout is None:
                timeout = next((e.fields.get("timeout_s") for e in reversed(around)
                                if e.kind == "rhb_network_timeout"), None)
            if base_text is None:
                base_text = next((e.fields.get("base_time") for e in reversed(around)
                                  if e.kind == "rhb_base_time"), None)
        try:
            base = _cell_time(str(base_text)) if base_text else None
        except ValueError:
            base = None
        limit = timeout if isinstance(timeout, int) else None
        stale: list[str] = []
        silent: list[int] = []
        ages: list[float] = []
        rows = [row for e in group for row in _rhb_rows(e)]
        for i, row in enumerate(rows, 1):
            cells = [c for c in map(str.strip, row.split("|")) if c]
            heard = 0
            for j, cell in enumerate(cells, 1):
                if cell.startswith(_NEVER):
                    continue
                heard += 1
                if base is None:
                    continue
                try:
                    age = (base - _cell_time(cell[:19])).total_seconds()
                except ValueError:
                    continue
                ages.append(age)
                if limit is not None and age > limit:
                    stale.append(f"node {i} <- node {j}: {age:.0f} s")
            if heard == 0 and len(cells) > 1:
                silent.append(i)
        max_age = max(ages) if ages else None
        fields = {"timeout_s": timeout, "base_time": base_text, "nodes": len(rows),
                  "max_age_s": max_age, "stale": bool(stale), "stale_links": stale,
                  "silent_cm_nodes": silent, "silent": bool(silent)}
        level = "warning" if stale or silent else "info"
        msg = (f"RHB matrix ({len(rows)} nodes, timeout {timeout} s): "
               + ("; ".join(stale) if stale else "no timed-out link")
               + (f"; silent: cm node {', '.join(map(str, silent))}" if silent else ""))
        out.append(_episode("rhb_matrix", first.node, first, group[-1], level, msg, fields,
                            [*around, *group]))
    return out


def _roles(events: list[Event]) -> list[Event]:
    """Role snapshots from cm_ctl and two-primaries overlaps from promotions."""
    out: list[Event] = []
    snaps: dict[int, list[Event]] = {}
    for e in events:
        if e.kind == "cm_dn_state":
            snaps.setdefault(id(e.time) if e.time is None else hash((e.file,
                             e.fields.get("snapshot"))), []).append(e)
    for rows in snaps.values():
        primaries = [r for r in rows if r.fields.get("role") == "Primary"]
        for r in rows:
            out.append(_episode("role_snapshot", r.node, r, None, r.level,
                                f"{r.node}: {r.fields.get('role')} {r.fields.get('state')}",
                                {"role": r.fields.get("role"), "state": r.fields.get("state"),
                                 "static_role": r.fields.get("static_role")}, [r]))
        if len(primaries) > 1:
            out.append(_episode("primary_overlap", "cluster", primaries[0], primaries[-1],
                                "error", "two nodes show Primary in one cm_ctl snapshot: "
                                + ", ".join(p.node for p in primaries),
                                {"primaries": [p.node for p in primaries],
                                 "evidence": "cm_ctl"}, primaries))
    # promotions in the logs: a node becomes primary until it goes down or demotes
    claims: list[tuple[str, datetime, datetime | None, Event]] = []
    by_node: dict[str, list[Event]] = {}
    for e in events:
        by_node.setdefault(e.node, []).append(e)
    for node, mine in by_node.items():
        for i, e in enumerate(mine):
            if e.kind in ("failover_success", "switchover_promote_success", "set_primary"):
                end = next((x for x in mine[i + 1:] if x.kind in PROCESS_GONE | CLAIM_END), None)
                claims.append((node, e.time, end.time if end else None, e))
    for a in range(len(claims)):
        for b in range(a + 1, len(claims)):
            na, sa, ea, eva = claims[a]
            nb, sb, eb, evb = claims[b]
            if na == nb:
                continue
            overlap = (ea is None or sb < ea) and (eb is None or sa < eb)
            # kill -9 leaves no shutdown line: the earlier primary must still be seen alive
            # (any record of its own) after the later promotion, before its claim ends.
            early, early_end, late = (na, ea, sb) if sa <= sb else (nb, eb, sa)
            alive = any(x.time > late and (early_end is None or x.time < early_end)
                        for x in by_node[early])
            if overlap and alive and abs((sb - sa).total_seconds()) > 0:
                later = max(sa, sb)
                out.append(_episode("primary_overlap", "cluster", eva if sa <= sb else evb,
                                    None, "error",
                                    f"{na} and {nb} both became primary and neither had "
                                    f"stopped when the other did ({later:%H:%M:%S} UTC)",
                                    {"primaries": [na, nb], "evidence": "promotion messages"},
                                    [eva, evb]))
    return out
