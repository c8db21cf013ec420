"""Other systems' episodes when membership flaps for hours: a corosync node that leaves and
rejoins hundreds of times, OceanBase log streams whose leader moves back and forth. Each
episode must find its own rejoin, fencing or new leader, not another cycle's. (The builders
looked for them with a pass over every event, or a copy of the rest of the list, per
episode.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reformdiag.diagnose.episodes import build_episodes
from reformdiag.model import Event

T0 = datetime(2024, 5, 10, 8, 0, tzinfo=UTC)
CYCLES = 200
S = timedelta(seconds=1)


def _ev(kind: str, node: str, at: timedelta, system: str = "corosync", **fields: object) -> Event:
    return Event(source="corosync_log", system=system, file=f"{node}.log", line=1, kind=kind,
                 level="info", message=kind, raw="", node=node, time=T0 + at, fields=dict(fields))


def test_every_absence_finds_its_own_rejoin_and_fencing() -> None:
    events = []
    for k in range(CYCLES):
        t = timedelta(minutes=10) * k
        events += [
            _ev("corosync_new_membership", "host-a", t, ring_id=f"1.{2 * k}", joined="",
                left="2"),
            _ev("corosync_quorum_members", "host-a", t + S, members="1 3"),
            _ev("corosync_primary", "host-a", t + S),
        ]
        if k % 2:  # every other absence is fenced
            events.append(_ev("pcmk_fence_result", "host-a", t + 10 * S, result="OK",
                              subject_nodeid=2))
        events += [
            _ev("corosync_new_membership", "host-a", t + 60 * S, ring_id=f"1.{2 * k + 1}",
                joined="2", left=""),
            _ev("corosync_quorum_members", "host-a", t + 61 * S, members="1 2 3"),
            _ev("corosync_primary", "host-a", t + 61 * S),
        ]
    absences = [e for e in build_episodes(events) if e.kind == "member_absence"]
    assert len(absences) == CYCLES
    for k, ep in enumerate(absences):
        assert ep.time == T0 + timedelta(minutes=10) * k
        assert (ep.fields["outcome"], ep.fields["absent_s"]) == ("rejoined", 60.0)
        assert ep.fields["fenced"] is bool(k % 2)


def test_every_leader_change_finds_its_own_new_leader() -> None:
    events = []
    for k in range(CYCLES):
        t = timedelta(minutes=1) * k
        old, new = ("ob1", "ob2") if k % 2 == 0 else ("ob2", "ob1")
        for ls in (1001, 1002):  # two log streams, interleaved
            events += [
                _ev("ob_role_change", old, t + S * (ls - 1000), "oceanbase", tenant_id=1002,
                    ls_id=ls, before="Leader", after="Follower", reason="self change leader"),
                _ev("ob_role_change", new, t + S * (ls - 1000) + 3 * S, "oceanbase",
                    tenant_id=1002, ls_id=ls, before="Follower", after="Leader",
                    reason="self change leader"),
            ]
    changes = [e for e in build_episodes(events) if e.kind == "leader_change"]
    assert len(changes) == 2 * CYCLES
    for ep in changes:
        f = ep.fields
        assert f["new_leader"] != f["old_leader"] and f["no_leader_s"] == 3.0
