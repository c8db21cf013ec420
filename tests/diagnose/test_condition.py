"""The condition language at its edges: windows, ties, order across nodes, absence, counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reformdiag.diagnose.condition import ConditionError, Evaluator, parse_condition
from reformdiag.model import Event

T0 = datetime(2024, 9, 19, 9, 0, 0, tzinfo=UTC)


def ev(name: str, seconds: float, node: str = "n1") -> Event:
    e = Event(source="s", system="x", file="f", line=1, kind=name, level="info", message=name,
              raw=name, node=node)
    e.time = T0 + timedelta(seconds=seconds)
    return e


def run(cond: str, events: list[Event], end: float | None = None, node: str | None = None):
    by_kind = lambda name: [e for e in events if e.kind == name.rstrip("*")  # noqa: E731
                            or (name.endswith("*") and e.kind.startswith(name[:-1]))]
    bundle_end = T0 + timedelta(seconds=end) if end is not None else max(
        (e.time for e in events), default=None)
    parsed = parse_condition(cond)
    return Evaluator(by_kind, bundle_end).run(parsed, node)


def test_then_exactly_at_the_window_counts() -> None:
    assert len(run("a then b within 60s", [ev("a", 0), ev("b", 60)])) == 1
    assert run("a then b within 60s", [ev("a", 0), ev("b", 60.001)]) == []


def test_then_ties_count_but_order_matters() -> None:
    assert len(run("a then b within 1s", [ev("a", 5), ev("b", 5)])) == 1
    assert run("a then b within 10s", [ev("b", 0), ev("a", 5)]) == []


def test_then_across_nodes_uses_time_not_file_order() -> None:
    events = [ev("b", 3, "n2"), ev("a", 1, "n1")]  # listed out of order
    assert len(run("a then b within 5s", events)) == 1
    assert run("a then b within 5s on same node", events) == []
    assert len(run("a then b within 5s on different nodes", events)) == 1


def test_chain_of_three() -> None:
    events = [ev("a", 0), ev("b", 10), ev("c", 20)]
    assert len(run("a then b then c within 20s", events)) == 1
    assert run("a then b then c within 19s", events) == []


def test_count_within_window_and_burst() -> None:
    events = [ev("x", s) for s in (0, 10, 20, 30, 100, 101)]
    assert len(run("count(x) >= 4 within 30s", events)) == 1
    assert run("count(x) >= 4 within 29s", events) == []
    assert len(run("count(x) >= 2 within 5s", events)) == 1  # only the 100/101 burst


def test_count_on_same_node() -> None:
    events = [ev("x", 0, "n1"), ev("x", 1, "n2"), ev("x", 2, "n1")]
    assert run("count(x) >= 3 within 10s on same node", events) == []
    assert len(run("count(x) >= 2 within 10s on same node", events)) == 1


def test_absence_needs_the_window_to_be_covered_by_the_logs() -> None:
    started = [ev("start", 0)]
    assert run("start and not done within 120s", started, end=60) == []  # logs end too early
    assert len(run("start and not done within 120s", started, end=120)) == 1
    finished = [ev("start", 0), ev("done", 120)]
    assert run("start and not done within 120s", finished, end=200) == []


def test_absence_on_same_node() -> None:
    events = [ev("start", 0, "n1"), ev("done", 5, "n2")]
    assert len(run("start and not done within 60s on same node", events, end=100)) == 1
    assert run("start and not done within 60s", events, end=100) == []


def test_plain_not_and_group_by_node() -> None:
    assert len(run("not rhb", [ev("other", 0)])) == 1
    assert run("not rhb", [ev("rhb", 0)]) == []
    events = [ev("a", 0, "n1"), ev("b", 1, "n2")]
    cond = "a and b group by node"
    assert parse_condition(cond).group_by_node
    assert run(cond, events, node="n1") == [] and run(cond, events, node="n2") == []
    assert len(run("a and b", events)) == 1


def test_or_and_wildcards() -> None:
    events = [ev("filter_main_x", 0), ev("a", 1)]
    assert run("a and not filter_main_*", events) == []
    assert len(run("a or b", events)) == 1


@pytest.mark.parametrize("bad", ["a then", "count(a) >= within 5s", "a within", "A", "a and and b"])
def test_bad_conditions_are_refused(bad: str) -> None:
    with pytest.raises(ConditionError):
        parse_condition(bad)


_EVENTS = st.lists(st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 60),
                             st.sampled_from(["n1", "n2", ""])), max_size=12)


@settings(max_examples=400, deadline=None)
@given(raw=_EVENTS, scope=st.sampled_from(["", " on same node", " on different nodes"]),
       window=st.sampled_from(["", " within 30s"]), node=st.sampled_from([None, "n1"]))
def test_absence_of_one_selection_is_the_absence_of_its_matches(raw, scope, window, node) -> None:
    """``not b`` looks at b's events in the window directly (no Match per event); ``not
    (b or b)`` goes the general way, through the matches. Both must agree."""
    events = [ev(kind, seconds, n) for kind, seconds, n in raw]
    direct = run(f"a and not b{window}{scope if window else ''}", events, end=200, node=node)
    general = run(f"a and not (b or b){window}{scope if window else ''}", events, end=200,
                  node=node)
    assert [sorted(m.events) for m in direct] == [sorted(m.events) for m in general]
    assert [m.start for m in direct] == [m.start for m in general]


def test_a_failed_absence_without_window_spares_the_rest_of_its_and() -> None:
    """``count(x) >= 1 and not r``: once ``r`` is there, nothing else is selected (OG020 on a
    healthy cm_server: its regex over every cm_server line was wasted); the answer is the one
    the full evaluation gives."""
    events = [ev("x", 0), ev("r", 5), ev("y", 9)]
    asked: list[str] = []

    def select(name: str) -> list[Event]:
        asked.append(name)
        return [e for e in events if e.kind == name]

    cond = parse_condition("count(x) >= 1 and not r or y and not q")
    assert [m.events for m in Evaluator(select, T0 + timedelta(seconds=9)).run(cond)] == \
        [{"y": [events[2]]}]
    assert "x" not in asked and {"r", "y", "q"} <= set(asked)
    # with a window the absence depends on each match: the positive is still evaluated
    assert len(run("x and not r within 3s", events)) == 1
    assert run("x and not r within 10s", events) == []
    assert run("count(x) >= 1 and not r", events) == []
    assert len(run("count(x) >= 1 and not q", events)) == 1
