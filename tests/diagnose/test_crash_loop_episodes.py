"""A node restarting in a loop: hundreds of first rounds, failovers, switchovers and kick-outs.
Each episode must take the end, exit, restart, cause or rejoin of its own cycle, not the
first one in the logs after it, and not one from a later cycle. (Each answer was a scan to
the end of the events: 2,000 restarts took 75 s; the builders now look them up.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reformdiag.diagnose.episodes import build_episodes
from reformdiag.model import Event

T0 = datetime(2024, 9, 19, 9, 0, tzinfo=UTC)
CYCLES = 300
PERIOD = timedelta(minutes=15)  # further apart than a failover series (10 minutes)


def _ev(kind: str, node: str, at: timedelta, **fields: object) -> Event:
    return Event(source="opengauss_pg_log", system="opengauss", file=f"{node}.log", line=1,
                 kind=kind, level="info", message=kind, raw="", node=node, time=T0 + at,
                 fields=dict(fields))


def _loop() -> list[Event]:
    events = []
    for k in range(CYCLES):
        t = PERIOD * k
        s = timedelta(seconds=1)
        events += [
            _ev("first_round_reform_wait", "og1", t),
            _ev("first_round_reform_wait", "og2", t + s),  # the cause: og2 restarted too
            _ev("first_round_reform_failed", "og1", t + 3 * s),
            _ev("fast_shutdown", "og1", t + 4 * s),
            _ev("process_start_marker", "og1", t + 30 * s),
            _ev("failover_trigger", "og2", t + 40 * s),
            _ev("failover_success", "og2", t + 45 * s),
            _ev("ready_to_accept_connections", "og2", t + 50 * s),
            _ev("switchover_start", "og1", t + 60 * s),
            _ev("switchover_success", "og1", t + 70 * s),
            _ev("node_kick_out", "og3", t + 80 * s, cm_node=3, subject_node="og3"),
            _ev("node_join", "og3", t + 120 * s, cm_node=3),
        ]
    return events


def test_every_cycle_gets_its_own_answers() -> None:
    episodes = build_episodes(_loop())
    by_kind: dict[str, list[Event]] = {}
    for ep in episodes:
        by_kind.setdefault(ep.kind, []).append(ep)
    firsts = [e for e in by_kind["first_round_reform"] if e.node == "og1"]
    assert len(firsts) == CYCLES
    for k, ep in enumerate(firsts):
        t = T0 + PERIOD * k
        f = ep.fields
        assert (f["outcome"], f["duration_s"], f["exited"], f["restarted_s"]) == \
            ("failed", 3.0, True, 27.0)
        assert f["cause_node"] == "og2" and f["parts"][2].time == t + timedelta(seconds=1)
        assert [p.time - t for p in f["parts"]] == [timedelta(seconds=n) for n in (0, 3, 1, 4, 30)]
    recoveries = by_kind["failover_recovery"]
    assert len(recoveries) == CYCLES
    assert all(r.fields["recovery_s"] == 10.0 and r.fields["attempts"] == 1 for r in recoveries)
    switchovers = by_kind["switchover"]
    assert [s.fields["duration_s"] for s in switchovers] == [10.0] * CYCLES
    kicks = by_kind["kick_out"]
    assert len(kicks) == CYCLES
    assert all(k.fields["rejoined"] and k.fields["rejoin_s"] == 40.0 for k in kicks)
