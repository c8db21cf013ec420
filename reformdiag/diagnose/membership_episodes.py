"""Diagnose stage: episode builders for corosync/DLM, NDB Cluster and OceanBase.

The same questions as for openGauss (who was in the cluster, when did a node leave and come
back, who led), answered from each system's own lines:

* ``membership_ring``: corosync formed a ring (who joined, who left, quorate or not);
* ``member_absence``: a corosync node left a host's membership and (maybe) came back, and
  whether it left cleanly or was fenced in between: a failed node that returns unfenced
  brings back stale lockspace state (DLM-1);
* ``stateful_merge``: dlm_controld found a node that came back with its old lockspace state
  (DLM-1), with the absence before it, whether it was killed, and whether it was fenced;
* ``fencing``: one fencing of a node, dlm_controld's or pacemaker's, to its result;
* ``ndb_start``: one start attempt of an NDB node through its start phases;
* ``president_election`` / ``dual_president``: who each NDB node took as president, and two
  nodes that each elected themselves in one start (NDB-1);
* ``arbitration``: NDB nodes failing, the arbitration check, and who survived (NDB-3);
* ``leader_change``: an OceanBase log stream losing its leader and (maybe) getting a new one;
* ``server_lease``: an observer whose lease expired at the RootService, until it came back.

Nodes named only by an id (corosync nodeid 13) use the node the cluster map resolved
(``subject_node``) when the bundle says which host it is.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from reformdiag.model import Event

NEAR = timedelta(seconds=10)  # lines of one ring or one role change are this close
FENCE_WINDOW = timedelta(minutes=10)  # a fencing result arrives within this of its request
START_GAP = timedelta(minutes=30)  # phases further apart than this are separate start attempts
ELECTION_WINDOW = timedelta(minutes=10)  # two self-elected presidents this close: one start

FENCE_START = {"dlm_fence_request", "pcmk_will_fence", "pcmk_fence_request",
               "stonith_fence_request"}
FENCE_OK = {"dlm_fence_result", "dlm_fence_status", "pcmk_peer_terminated"}
FENCE_FAILED = {"dlm_fence_failed", "dlm_fence_status_failed", "dlm_fence_no_actor",
                "dlm_fence_run_error"}
# A delayed kill (two_node: the other node is still being fenced) is not a merge to resolve.
MERGE = {"dlm_stateful_merge", "dlm_merge_kill", "dlm_merge_kill_member",
         "dlm_joined_needs_fencing"}
NDB_START = {"ndb_start_initiated", "ndb_start_phase", "ndb_president_elected"}
NDB_STOP = {"ndb_shutdown_forced", "ndb_node_exit"}
ISOLATED = {"stop", "force_stop", "isolate"}


def build_membership_episodes(events: list[Event], episode: Any) -> list[Event]:
    """Every episode of this module; ``episode`` is the shared episode constructor."""
    ids = _nodeid_names(events)
    out: list[Event] = []
    rings = _rings(events, episode)
    out.extend(rings)
    absences = _absences(rings, events, ids, episode)
    out.extend(absences)
    fencings = _fencings(events, ids, episode)
    out.extend(fencings)
    out.extend(_stateful_merges(events, absences, fencings, ids, episode))
    out.extend(_ndb_starts(events, episode))
    elections = _elections(events, episode)
    out.extend(elections)
    out.extend(_dual_presidents(elections, events, episode))
    out.extend(_arbitrations(events, episode))
    out.extend(_leader_changes(events, episode))
    out.extend(_server_leases(events, episode))
    return out


def _ids(value: Any) -> list[int]:
    """``"1 2 13"`` / ``13`` / None -> [1, 2, 13]."""
    if value is None:
        return []
    return [int(v) for v in str(value).split() if v.isdecimal()]  # int reads these


def _secs(a: datetime | None, b: datetime | None) -> float | None:
    return None if a is None or b is None else round((b - a).total_seconds(), 3)


def _nodeid_names(events: list[Event]) -> dict[int, str]:
    """corosync nodeid -> node key, from lines the cluster map resolved."""
    out: dict[int, str] = {}
    for ev in events:
        nodeid, node = ev.fields.get("subject_nodeid"), ev.fields.get("subject_node")
        if isinstance(nodeid, int) and node:
            out.setdefault(nodeid, str(node))
    return out


def _name(nodeid: int, ids: dict[int, str]) -> str:
    return ids.get(nodeid, f"nodeid-{nodeid}")


def _within(events: list[Event], i: int, window: timedelta) -> Iterator[Event]:
    """``events[i:]`` up to ``window`` after ``events[i]`` (the list is in time order)."""
    start = events[i].time
    for j in range(i, len(events)):  # not events[i:]: a copy of the rest at every call
        e = events[j]
        if e.time - start > window:
            return
        yield e


# ---- corosync / DLM ------------------------------------------------------------------------

def _rings(events: list[Event], episode: Any) -> list[Event]:
    out = []
    for i, ev in enumerate(events):
        if ev.kind != "corosync_new_membership":
            continue
        after = [e for e in events[i + 1:i + 40] if e.node == ev.node and e.time - ev.time <= NEAR]
        view = next((e for e in after if e.kind == "corosync_quorum_members"), None)
        quorum = next((e for e in after if e.kind in ("corosync_primary",
                                                      "corosync_non_primary")), None)
        done = next((e for e in after if e.kind == "corosync_sync_done"), None)
        # a node that left without a leave message failed or was cut off; one that sent it
        # was shut down cleanly (corosync stopped by an administrator)
        around = [e for e in events[max(0, i - 10):i + 40] if e.node == ev.node
                  and abs((e.time - ev.time).total_seconds()) <= NEAR.total_seconds()]
        failed = sorted({n for e in around if e.kind == "corosync_leave_failed"
                         for n in _ids(e.fields.get("failed"))})
        joined, left = _ids(ev.fields.get("joined")), _ids(ev.fields.get("left"))
        members = _ids(view.fields.get("members")) if view else []
        quorate = None if quorum is None else quorum.kind == "corosync_primary"
        fields = {"ring_id": ev.fields.get("ring_id"), "joined": joined, "left": left,
                  "failed": failed, "members": members, "quorate": quorate}
        text = f"{ev.node}: ring {ev.fields.get('ring_id')} formed"
        text += f" with {len(members)} member(s)" if view else ""
        text += f", joined: {' '.join(map(str, joined))}" if joined else ""
        text += f", left: {' '.join(map(str, left))}" if left else ""
        text += " (no leave message: failed)" if failed else (" (cleanly)" if left else "")
        text += {True: "; quorate", False: "; NOT quorate", None: ""}[quorate]
        parts = [e for e in (ev, view, quorum, done) if e is not None]
        level = "warning" if failed or quorate is False else "info"
        out.append(episode("membership_ring", ev.node, ev, done or view, level, text, fields,
                           parts))
    return out


def _fenced(nodeid: int, host: str | None, lo: datetime, hi: datetime,
            events: list[Event]) -> Event | None:
    for e in events:
        if not (lo <= e.time <= hi) or e.kind not in FENCE_OK | {"pcmk_fence_result"}:
            continue
        if e.kind == "pcmk_fence_result" and str(e.fields.get("result", "")).strip() != "OK":
            continue
        if e.fields.get("subject_nodeid") == nodeid or (host and e.fields.get("subject_node")
                                                         == host):
            return e
    return None


def _absences(rings: list[Event], events: list[Event], ids: dict[int, str],
              episode: Any) -> list[Event]:
    """A node that left a host's ring, until it joined again (one episode per absence,
    however many hosts saw it)."""
    out: list[Event] = []
    seen: list[tuple[int, datetime]] = []
    # the few events each absence looks for, picked once (not a pass over all per absence)
    fences = [e for e in events if e.kind in FENCE_OK | {"pcmk_fence_result"}]
    merges = [e for e in events if e.kind in ("dlm_stateful_merge", "dlm_merge_kill",
                                              "dlm_joined_needs_fencing")]
    for i, ring in enumerate(rings):
        if ring.fields["quorate"] is False:
            continue  # seen from the minority, everyone else "left": that is not news
        for nodeid in ring.fields["left"]:
            if any(n == nodeid and abs((t - ring.time).total_seconds()) <= NEAR.total_seconds()
                   for n, t in seen):
                continue
            seen.append((nodeid, ring.time))
            back = next((rings[j] for j in range(i + 1, len(rings)) if rings[j].node == ring.node
                         and nodeid in rings[j].fields["joined"]), None)
            name = _name(nodeid, ids)
            end_time = back.time if back else events[-1].time
            fence = _fenced(nodeid, ids.get(nodeid), ring.time, end_time, fences)
            merge = next((e for e in merges
                          if e.fields.get("subject_nodeid") == nodeid and back is not None
                          and back.time - NEAR <= e.time <= back.time + timedelta(minutes=2)),
                         None)
            clean = nodeid not in ring.fields["failed"]
            fields = {"subject_nodeid": nodeid, "subject_node": name, "observer": ring.node,
                      "clean_leave": clean, "outcome": "rejoined" if back else "absent",
                      "absent_s": _secs(ring.time, back.time if back else None),
                      "fenced": fence is not None, "stateful_merge": merge is not None}
            if back and fence is None and clean:
                text = (f"{name} left {ring.node}'s membership cleanly and rejoined "
                        f"{fields['absent_s']:.0f} s later")
            elif back and fence is None:
                text = (f"{name} left {ring.node}'s membership and rejoined "
                        f"{fields['absent_s']:.0f} s later without being fenced")
            elif back:
                text = f"{name} was fenced and rejoined after {fields['absent_s']:.0f} s"
            else:
                text = f"{name} left {ring.node}'s membership and did not rejoin in these logs"
            if merge is not None:
                text += "; dlm_controld found a stateful merge"
            parts = [ring.fields["parts"][0]] + [p for p in (fence, back, merge) if p is not None]
            parts = [p.fields["parts"][0] if p.source == "episode" else p for p in parts]
            level = "warning" if (back and fence is None and not clean) or merge else "info"
            out.append(episode("member_absence", name, ring, back, level, text, fields, parts))
    return out


def _fence_subject(ev: Event, ids: dict[int, str]) -> str | None:
    if ev.fields.get("subject_node"):
        return str(ev.fields["subject_node"])
    nodeid = ev.fields.get("subject_nodeid")
    if isinstance(nodeid, int):
        return _name(nodeid, ids)
    host = ev.fields.get("subject_host")
    return str(host) if host else None


def _fencings(events: list[Event], ids: dict[int, str], episode: Any) -> list[Event]:
    out = []
    used: set[int] = set()
    ends = FENCE_OK | FENCE_FAILED | {"pcmk_fence_result"}
    for i, start in enumerate(events):
        if start.kind not in FENCE_START or id(start) in used:
            continue
        subject = _fence_subject(start, ids)
        if subject is None:
            continue
        mine = [e for e in _within(events, i, FENCE_WINDOW) if _fence_subject(e, ids) == subject]
        end = next((e for e in mine if e.kind in ends), None)
        for e in mine:
            if e.kind in FENCE_START and (end is None or e.time <= end.time):
                used.add(id(e))
        if end is None:
            outcome = "unfinished"
        elif end.kind == "pcmk_fence_result":
            outcome = "success" if str(end.fields.get("result", "")).strip() == "OK" else "failed"
        else:
            outcome = "failed" if end.kind in FENCE_FAILED else "success"
        agent = start.fields.get("agent") or start.fields.get("device") or start.fields.get(
            "action")
        fields = {"subject_node": subject, "outcome": outcome, "agent": agent,
                  "requested_by": start.node, "involved_nodes": [subject, start.node],
                  "duration_s": _secs(start.time,
                                                                  end.time if end else None),
                  "end_kind": end.kind if end else None}
        text = f"fencing of {subject}" + (f" ({agent})" if agent else "") + f": {outcome}"
        if fields["duration_s"] is not None:
            text += f" after {fields['duration_s']:.0f} s"
        out.append(episode("fencing", subject, start, end,
                           "info" if outcome == "success" else "warning", text, fields,
                           [start] + ([end] if end else [])))
    return out


def _stateful_merges(events: list[Event], absences: list[Event], fencings: list[Event],
                     ids: dict[int, str], episode: Any) -> list[Event]:
    """One episode per merged node: the lines dlm_controld wrote about it (on the node that
    reported it, preferring the one that killed it), the absence before, the fencing after."""
    out: list[Event] = []
    lines = [e for e in events if e.kind in MERGE | {"dlm_kick_node"}
             and isinstance(e.fields.get("subject_nodeid"), int)]
    done: list[tuple[int, datetime]] = []
    for ev in lines:
        nodeid = ev.fields["subject_nodeid"]
        if ev.kind == "dlm_kick_node" or any(
                n == nodeid and abs((ev.time - t).total_seconds()) <= 30 for n, t in done):
            continue
        done.append((nodeid, ev.time))
        near = [e for e in lines if e.fields["subject_nodeid"] == nodeid
                and abs((e.time - ev.time).total_seconds()) <= 30]
        reporters = sorted({e.node for e in near})
        killers = [e for e in near if e.kind in ("dlm_merge_kill", "dlm_merge_kill_member",
                                                   "dlm_kick_node")]
        reporter = killers[0].node if killers else ev.node
        mine = [e for e in near if e.node == reporter]
        name = _name(nodeid, ids)
        absence = next((a for a in absences if a.fields["subject_nodeid"] == nodeid
                        and a.fields["outcome"] == "rejoined"
                        and abs((a.fields["end"] - ev.time).total_seconds()) <= 60), None)
        fenced = next((f for f in fencings if f.fields["subject_node"] == name
                       and f.fields["outcome"] == "success" and f.fields["end"] >= ev.time
                       and f.fields["end"] - ev.time <= FENCE_WINDOW), None)
        variant = ("rejoined before it was fenced" if any(
            e.kind == "dlm_joined_needs_fencing" for e in near) else "stateful merge")
        fields = {"subject_nodeid": nodeid, "subject_node": name, "reporters": reporters,
                  "involved_nodes": [reporter, name], "variant": variant,
                  "killed": any(e.kind in ("dlm_merge_kill", "dlm_merge_kill_member")
                                for e in near),
                  "kicked": any(e.kind == "dlm_kick_node" for e in near),
                  "absent_s": absence.fields["absent_s"] if absence else None,
                  "fenced_before_rejoin": absence.fields["fenced"] if absence else None,
                  "fenced_after": fenced is not None,
                  "fenced_after_s": _secs(ev.time, fenced.fields["end"]) if fenced else None}
        text = f"{reporter}: {name} merged back with its old lockspace state ({variant})"
        if fields["absent_s"] is not None:
            text += f" after {fields['absent_s']:.0f} s away"
        text += "; dlm_controld had corosync remove it" if fields["kicked"] or fields["killed"] \
            else "; not removed yet"
        if fenced is not None:
            text += f"; fenced {fields['fenced_after_s']:.0f} s later"
        parts = ([absence.fields["parts"][0]] if absence else []) + mine + (
            [fenced.fields["parts"][-1]] if fenced else [])
        out.append(episode("stateful_merge", reporter, mine[0], mine[-1], "error", text, fields,
                           parts))
    return out


# ---- NDB Cluster ---------------------------------------------------------------------------

def _ndb_starts(events: list[Event], episode: Any) -> list[Event]:
    """One episode per start attempt of each NDB node, from start initiated to Started, a
    forced shutdown, or the end of the logs."""
    out: list[Event] = []
    by_node: dict[str, list[Event]] = {}
    for ev in events:
        if ev.kind in NDB_START | NDB_STOP | {"ndb_started"}:
            by_node.setdefault(ev.node, []).append(ev)
    last_time = events[-1].time if events else None
    for node, mine in by_node.items():
        # logs print whole seconds: within one second the phases come before `Started`, even
        # when the cluster log and the out log interleave
        mine.sort(key=lambda e: (e.time, e.kind in NDB_STOP or e.kind == "ndb_started"))
        attempt: list[Event] = []
        closed: datetime | None = None  # when the last attempt ended (its echoes follow)
        for ev in mine:
            if not attempt and closed is not None and ev.time - closed <= NEAR:
                continue  # the cluster log and the node's out log report the same start
            # a new `Start initiated` (not the same one echoed by another log) or a long
            # silence begins a new attempt; the one before never finished
            if attempt and ((ev.kind == "ndb_start_initiated" and ev.time - attempt[0].time > NEAR)
                            or ev.time - attempt[-1].time > START_GAP):
                out.append(_ndb_attempt(node, attempt, ev, last_time, episode))
                attempt = []
            if not attempt and ev.kind not in NDB_START:
                continue  # Started / a shutdown echoed by a second log, or outside any start
            attempt.append(ev)
            if ev.kind in NDB_STOP or ev.kind == "ndb_started":
                out.append(_ndb_attempt(node, attempt, None, last_time, episode))
                attempt, closed = [], ev.time
        if attempt:
            out.append(_ndb_attempt(node, attempt, None, last_time, episode))
    return out


def _ndb_attempt(node: str, attempt: list[Event], nxt: Event | None,
                 last_time: datetime | None, episode: Any) -> Event:
    start, end = attempt[0], attempt[-1]
    phases = sorted({int(e.fields["phase"]) for e in attempt
                     if e.kind == "ndb_start_phase" and isinstance(e.fields.get("phase"), int)})
    start_type = next((e.fields.get("start_type") for e in attempt
                       if e.fields.get("start_type")), None)
    president = next((e.fields.get("president") for e in attempt
                      if e.kind == "ndb_president_elected"), None)
    if end.kind == "ndb_started":
        outcome = "started"
    elif end.kind in NDB_STOP:
        outcome = "failed"
    elif nxt is not None:
        outcome = "abandoned"  # a new attempt began without this one finishing
    else:
        outcome = "unfinished"
    error = next((e.fields.get("error") for e in attempt if e.kind in NDB_STOP), None)
    # the longest wait between two steps of the start (a start stuck in one phase)
    gaps = [(b.time - a.time).total_seconds() for a, b in zip(attempt, attempt[1:], strict=False)]
    stuck_s = _secs(end.time, (nxt.time if nxt else last_time)) \
        if outcome in ("unfinished", "abandoned") else None
    longest = max([*gaps, stuck_s or 0.0]) if gaps or stuck_s else None
    fields = {"outcome": outcome, "start_type": start_type, "phases": phases,
              "last_phase": phases[-1] if phases else None, "president": president,
              "error": error, "duration_s": _secs(start.time, end.time), "stuck_s": stuck_s,
              "longest_wait_s": round(longest, 3) if longest is not None else None}
    text = f"{node}: {start_type or 'start'}"
    text += f" reached phase {phases[-1]}" if phases else ""
    text += {"started": ", started", "failed": f", failed (error {error})",
             "abandoned": f", stuck there {stuck_s or 0:.0f} s until a new start began",
             "unfinished": f", stuck there {stuck_s or 0:.0f} s until the end of the logs"}[outcome]
    if outcome == "started" and fields["duration_s"]:
        text += f" after {fields['duration_s']:.0f} s"
        if longest and longest > 60:
            text += f" (one step waited {longest:.0f} s)"
    level = "info" if outcome == "started" else "warning"
    return episode("ndb_start", node, start, end, level, text, fields, attempt[:1] + attempt[-1:]
                   if len(attempt) > 1 else attempt)


def _elections(events: list[Event], episode: Any) -> list[Event]:
    out: list[Event] = []
    for ev in events:
        if ev.kind != "ndb_president_elected":
            continue
        president, own = ev.fields.get("president"), ev.fields.get("own_node")
        if any(o.node == ev.node and o.fields["president"] == president
               and abs((o.time - ev.time).total_seconds()) <= 2 for o in out):
            continue  # the same CM_REGCONF in the cluster log and the node's out log
        self_elected = president == own
        fields = {"president": president, "own_node": own, "self_elected": self_elected}
        text = (f"{ev.node} elected itself president" if self_elected else
                f"{ev.node} joined the cluster of president node {president}")
        out.append(episode("president_election", ev.node, ev, None, "info", text, fields, [ev]))
    return out


def _dual_presidents(elections: list[Event], events: list[Event], episode: Any) -> list[Event]:
    """Two nodes that each elected themselves president in one start (no node joined the
    other's president in between), or QMGR's own dual-president check."""
    out: list[Event] = []
    selfs = [e for e in elections if e.fields["self_elected"]]
    started = [e for e in events if e.kind == "ndb_started"]
    for i, a in enumerate(selfs):
        for b in selfs[i + 1:]:
            if b.node == a.node or b.time - a.time > ELECTION_WINDOW:
                continue
            between = [e for e in started if a.time <= e.time <= b.time
                       and e.node in (a.node, b.node)]
            if between:
                continue
            joined = next((e for e in elections if e.time > b.time and not e.fields["self_elected"]
                           and e.node in (a.node, b.node)), None)
            fields = {"presidents": [a.node, b.node], "involved_nodes": [a.node, b.node],
                      "president_ids": [a.fields["president"], b.fields["president"]],
                      "detected_by": "CM_REGCONF", "resolved": joined is not None,
                      "resolved_s": _secs(b.time, joined.time if joined else None),
                      "rejoined_node": joined.node if joined else None}
            text = (f"{a.node} and {b.node} each elected themselves president in one start")
            text += (f"; {joined.node} joined president node {joined.fields['president']} "
                     f"{fields['resolved_s']:.0f} s later" if joined else
                     "; neither joined the other in these logs")
            out.append(episode("dual_president", "cluster", a, joined or b, "error", text,
                               fields, [a.fields["parts"][0], b.fields["parts"][0]]
                               + ([joined.fields["parts"][0]] if joined else [])))
    for ev in events:
        if ev.kind != "ndb_dual_president":
            continue
        if any(abs((o.time - ev.time).total_seconds()) <= ELECTION_WINDOW.total_seconds()
               for o in out):
            continue
        fields = {"presidents": [ev.node], "involved_nodes": [ev.node],
                  "president_ids": [ev.fields.get("president"), ev.fields.get("other_president")],
                  "detected_by": "check StartPartialTimeout", "check_line": ev.message,
                  "resolved": False, "resolved_s": None, "rejoined_node": None}
        text = (f"{ev.node} takes node {ev.fields.get('president')} as president while node "
                f"{ev.fields.get('other_node')} takes node {ev.fields.get('other_president')}")
        out.append(episode("dual_president", "cluster", ev, None, "error", text, fields, [ev]))
    return out


ARBITRATION = {"ndb_network_partitioning", "ndb_arbitration_check", "ndb_arbitration_won",
               "ndb_arbitration_lost", "ndb_arbitration_failure"}
# exit codes of a node shut down by arbitration or by the others (ndbd_exit_codes)
ARBITRATION_EXITS = {2305, 2307, 2315}


def _arbitrations(events: list[Event], episode: Any) -> list[Event]:
    """One episode per arbitration round: the nodes that failed just before, the check, the
    partitioning verdict, who won, who lost and who was shut down."""
    out: list[Event] = []
    used: set[int] = set()
    for i, first in enumerate(events):
        if first.kind not in ARBITRATION or id(first) in used:
            continue
        window = list(_within(events, i, timedelta(seconds=60)))
        mine = [e for e in window if e.kind in ARBITRATION]
        used.update(id(e) for e in mine)
        before = [e for e in events[max(0, i - 200):i] if first.time - e.time <= timedelta(seconds=60)
                  and e.kind in ("ndb_dead_heartbeat", "ndb_node_failed", "ndb_disconnected")]
        failed = sorted({str(e.fields.get("subject_node") or e.fields.get("subject_ndb_node"))
                         for e in before})
        verdicts = sorted({str(e.fields["partitioning"]) for e in mine
                           if e.kind == "ndb_network_partitioning"})
        winners = sorted({e.node for e in mine if e.kind == "ndb_arbitration_won"
                          or (e.kind == "ndb_arbitration_check" and e.fields.get("check") == "won")})
        losers = sorted({e.node for e in mine if e.kind == "ndb_arbitration_lost"
                         or (e.kind == "ndb_arbitration_check" and e.fields.get("check") == "lost")})
        shut = [e for e in window if e.kind in NDB_STOP
                and e.fields.get("error") in ARBITRATION_EXITS]
        arbitrator = next((e.fields.get("arbitrator") for e in mine if e.fields.get("arbitrator")),
                          None)
        no_arbitrator = any("no arbitrator" in v for v in verdicts)
        partitioned = bool(verdicts)
        if no_arbitrator:
            outcome = "no arbitrator: both sides shut down"
        elif winners and (losers or shut):
            outcome = "one side survived"
        elif winners:
            outcome = "survivors kept running"
        elif losers or shut:
            outcome = "lost"
        else:
            outcome = "undecided"
        shut_nodes = sorted({e.node for e in shut})
        fields = {"partitioned": partitioned, "verdict": ", ".join(verdicts) or None,
                  "failed_nodes": failed, "winners": winners, "losers": losers,
                  "shut_down": shut_nodes, "arbitrator": arbitrator, "outcome": outcome,
                  "involved_nodes": sorted({*winners, *losers, *shut_nodes})}
        text = ("network partitioning" + (f" ({fields['verdict']})" if verdicts else "")
                if partitioned else "arbitration check")
        text += f" after {', '.join(failed)} failed" if failed else ""
        text += f": {outcome}"
        text += f"; won: {', '.join(winners)}" if winners else ""
        text += f"; shut down: {', '.join(shut_nodes)}" if shut_nodes else ""
        parts = before[-1:] + mine + shut
        out.append(episode("arbitration", "cluster", first, (shut or mine)[-1],
                           "warning" if partitioned else "info", text, fields, parts))
    return out


# ---- OceanBase -----------------------------------------------------------------------------

def _leader_changes(events: list[Event], episode: Any) -> list[Event]:
    """Per log stream: a leader that stepped down until another replica took over."""
    out: list[Event] = []
    changes = [e for e in events if e.kind == "ob_role_change"]
    revokes: dict[str, list[Event]] = {}
    for e in events:
        if e.kind == "ob_lease_expired_revoke":
            revokes.setdefault(e.node, []).append(e)
    used: set[int] = set()
    streams: dict[tuple[object, object], list[int]] = {}  # log stream -> its changes
    for i, ev in enumerate(changes):
        streams.setdefault((ev.fields.get("tenant_id"), ev.fields.get("ls_id")), []).append(i)
    for i, ev in enumerate(changes):
        if id(ev) in used:
            continue
        key = (ev.fields.get("tenant_id"), ev.fields.get("ls_id"))
        mine = streams[key]
        same = (changes[j] for j in mine[bisect.bisect_right(mine, i):])
        if ev.fields.get("before") == "Leader":
            old, revoke = ev, ev
            new = next((e for e in same if e.fields.get("after") == "Leader"), None)
        elif ev.fields.get("after") == "Leader":
            old, revoke, new = None, None, ev
        else:
            continue
        used.update(id(e) for e in (revoke, new) if e is not None)
        cause = None
        if revoke is not None:
            cause = next((e for e in revokes.get(revoke.node, [])
                          if timedelta(0) <= revoke.time - e.time <= NEAR), None)
        gap = _secs(revoke.time, new.time) if revoke and new else None
        no_leader_until = None if new else (events[-1].time if events else None)
        fields = {"tenant_id": key[0], "ls_id": key[1], "old_leader": old.node if old else None,
                  "new_leader": new.node if new else None,
                  "involved_nodes": [e.node for e in (old, new) if e is not None],
                  "reason": (revoke or new).fields.get("reason"),
                  "takeover_reason": new.fields.get("reason") if new else None,
                  "lease_expired": cause is not None,
                  "outcome": "new leader" if new else "no leader",
                  "no_leader_s": gap if new else _secs(revoke.time if revoke else None,
                                                       no_leader_until)}
        where = f"tenant {key[0]} LS {key[1]}"
        if old and new:
            text = (f"{where}: leader {old.node} -> {new.node}, "
                    f"no leader for {gap:.1f} s ({fields['reason']})")
        elif new:
            text = f"{where}: {new.node} became leader ({fields['takeover_reason']})"
        else:
            text = (f"{where}: leader {old.node} stepped down ({fields['reason']}) and no "
                    "replica took over in these logs")
        planned = str(fields["reason"] or "").startswith("self change leader")
        level = "info" if (new and (planned or old is None)) else "warning"
        parts = [p for p in (cause, revoke, new) if p is not None]
        out.append(episode("leader_change", (new or old).node, parts[0], parts[-1], level, text,
                           fields, parts))
    return out


def _server_leases(events: list[Event], episode: Any) -> list[Event]:
    """Per observer: lease expired at the RootService until online or permanent offline.
    Planned when an ALTER SYSTEM STOP/FORCE STOP/ISOLATE SERVER of it came first."""
    out: list[Event] = []
    liveness = [e for e in events if e.kind in ("ob_server_lease_expired", "ob_server_online",
                                                 "ob_server_permanent_offline")]
    isolations = [e for e in events if e.kind == "ob_isolation_command"]
    for i, ev in enumerate(liveness):
        if ev.kind != "ob_server_lease_expired":
            continue
        server = ev.fields.get("subject_host")
        if any(o.fields["server"] == server and o.time <= ev.time <= o.fields["end"]
               for o in out):
            continue
        end = next((e for e in (liveness[j] for j in range(i + 1, len(liveness)))
                    if e.fields.get("subject_host") == server
                    and e.kind in ("ob_server_online", "ob_server_permanent_offline")), None)
        outcome = ("online" if end and end.kind == "ob_server_online" else
                   "permanent offline" if end else "offline")
        admin = _isolation_before((e for e in isolations if e.time <= ev.time), str(server))
        # only STOP SERVER makes stopping the observer safe; FORCE STOP and ISOLATE divert
        # traffic without guaranteeing that the other replicas keep a majority
        fields = {"server": server, "outcome": outcome,
                  "offline_s": _secs(ev.time, end.time if end else None),
                  "isolated_by": admin.fields.get("action") if admin else None,
                  "planned": admin is not None and admin.fields.get("action") == "stop"}
        node = str(ev.fields.get("subject_node") or server)
        text = f"{server}: lease expired at the RootService"
        if outcome == "online":
            text += f", back online after {fields['offline_s'] or 0:.0f} s"
        else:
            text += ", permanent offline" if end else ", not back in these logs"
        if admin is not None:
            text += f" (after ALTER SYSTEM {admin.fields.get('action', '').upper()} SERVER)"
        ep = episode("server_lease", node, ev, end, "info" if fields["planned"] else "warning",
                     text, fields, [p for p in (admin, ev, end) if p is not None])
        out.append(ep)
    return out


def _isolation_before(events: Iterable[Event], server: str) -> Event | None:
    """The last successful isolation of ``server`` not undone by a START SERVER."""
    last = None
    for e in events:
        if e.kind != "ob_isolation_command" or server not in (e.fields.get("servers") or []):
            continue
        last = e if e.fields.get("action") in ISOLATED else None
    return last
