"""Diagnose stage: parse and evaluate rule conditions (grammar: condition.lark).

A condition evaluates to a list of Matches. A Match holds the events that satisfied it, by
selection name, plus its time span and nodes. Semantics, chosen to be explicit at the edges:

* ``A then B within W``: B at or after A (ties count) and ``B.time - A.time <= W`` (exactly W
  counts). Each A yields at most one match, with the first B after it.
* ``on same node`` / ``on different nodes``: the events of one match share (or do not share)
  their node. ``group by node`` evaluates the whole condition per node.
* ``count(A) >= N within W``: the first window of N events per burst; a new burst starts after
  the window that fired.
* ``X and not B within W``: absence. A match of X survives when no B falls within
  ``[X.end, X.end + W]`` (on X's node with ``on same node``). If the logs end before that
  window closes, absence is not proven and the match is dropped.
* ``not B`` without a window: B is absent from the whole bundle (or node, with group by).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import LarkError, UnexpectedInput

from reformdiag.model import Event

_GRAMMAR = Path(__file__).with_name("condition.lark")


@lru_cache(maxsize=1)
def _parser() -> Lark:
    # Lark keeps the compiled tables in a file (checked against the grammar's hash), which
    # saves ~0.4 s at every start. The file is a pickle: it lives in the user's private
    # cache folder, not loose in the shared temp dir (parse/defcache.py).
    from reformdiag.parse.defcache import cache_dir

    folder = cache_dir()
    cache: str | bool = str(folder / "condition.lark") if folder is not None else False
    return Lark(_GRAMMAR.read_text(encoding="utf-8"), parser="lalr", cache=cache)


class ConditionError(ValueError):
    """A condition does not parse or names an unknown selection."""

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.column = column


@dataclass
class Match:
    events: dict[str, list[Event]] = field(default_factory=dict)
    # all_events/start/end are read many times (incident grouping, absence windows); they are
    # computed once, after the match is built (nothing adds events to a match once read)
    _all: list[Event] | None = field(default=None, init=False, repr=False, compare=False)
    _span: tuple[datetime | None, datetime | None] | None = field(
        default=None, init=False, repr=False, compare=False)

    @property
    def all_events(self) -> list[Event]:
        if self._all is None:
            seen: dict[int, Event] = {}
            for evs in self.events.values():
                for e in evs:
                    seen[id(e)] = e
            self._all = sorted(seen.values(),
                               key=lambda e: (e.time is None, e.time or datetime.min))
        return self._all

    def _times(self) -> tuple[datetime | None, datetime | None]:
        if self._span is None:
            events = self.all_events
            times = [e.time for e in events if e.time]
            # an episode lasts until its own end, not just its first line
            ends = [t for e in events for t in (e.time, e.fields.get("end"))
                    if isinstance(t, datetime)]
            self._span = (min(times) if times else None, max(ends) if ends else None)
        return self._span

    @property
    def start(self) -> datetime | None:
        return self._times()[0]

    @property
    def end(self) -> datetime | None:
        return self._times()[1]

    @property
    def nodes(self) -> list[str]:
        return sorted({e.node for e in self.all_events if e.node})

    def merged(self, other: Match) -> Match:
        out = {k: list(v) for k, v in self.events.items()}
        for k, v in other.events.items():
            out.setdefault(k, [])
            known = {id(x) for x in out[k]}
            out[k].extend(e for e in v if id(e) not in known)
        return Match(out)


def parse_duration(text: str) -> timedelta:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text)
    if not m:
        raise ConditionError(f"bad duration {text!r}")
    value, unit = float(m.group(1)), m.group(2)
    return timedelta(milliseconds=value) if unit == "ms" else timedelta(
        seconds=value * {"s": 1, "m": 60, "h": 3600}[unit])


@dataclass(frozen=True)
class Condition:
    text: str
    tree: Tree
    group_by_node: bool

    def names(self) -> set[str]:
        return {str(t) for t in self.tree.scan_values(lambda v: isinstance(v, Token)
                                                      and v.type == "NAME")}


def parse_condition(text: str) -> Condition:
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as exc:
        raise ConditionError(f"cannot parse condition near column {exc.column}: "
                             f"{exc.get_context(text).strip()}", exc.column) from exc
    except LarkError as exc:
        raise ConditionError(str(exc)) from exc
    group = False
    if isinstance(tree, Tree) and tree.data == "start":
        group = any(isinstance(c, Tree) and c.data == "group" for c in tree.children)
        tree = tree.children[0]
    return Condition(text, tree, group)


Selector = Callable[[str], list[Event]]


class Evaluator:
    """Evaluates a parsed condition over the events each selection picks."""

    def __init__(self, select: Selector, bundle_end: datetime | None) -> None:
        self.select = select
        self.bundle_end = bundle_end
        self.node: str | None = None
        # A condition is evaluated once per node (group by node), and an absence is checked
        # once per match: both reuse what was already computed for this (term, node).
        self._picked: dict[str, dict[str | None, list[Event]]] = {}
        self._done: dict[tuple[int, str | None], list[Match]] = {}
        self._time_lists: dict[tuple[str, str | None], list[datetime]] = {}

    def run(self, cond: Condition, node: str | None = None) -> list[Match]:
        self.node = node
        return list(self._eval(cond.tree))

    # -- helpers -------------------------------------------------------------
    def _events(self, name: str) -> list[Event]:
        """The timed events of a selection, in time order, on the current node (if any)."""
        per_node = self._picked.get(name)
        if per_node is None:
            timed = sorted((e for e in self.select(name) if e.time is not None),
                           key=lambda e: e.time)
            per_node = {None: timed}
            for e in timed:
                per_node.setdefault(e.node, []).append(e)
            self._picked[name] = per_node
        return per_node.get(self.node, [])

    @staticmethod
    def _opts(children: list[object]) -> tuple[timedelta | None, str | None]:
        window, scope = None, None
        for c in children:
            if isinstance(c, Tree) and c.data == "window":
                window = parse_duration(str(c.children[0]))
            elif isinstance(c, Tree) and c.data in ("same_node", "different_nodes"):
                scope = str(c.data)
        return window, scope

    def _eval(self, tree: Tree | Token) -> list[Match]:
        """The matches of a term (shared: callers build new lists, never change this one)."""
        key = (id(tree), self.node)
        if key not in self._done:
            kind = tree.data if isinstance(tree, Tree) else "ref"
            self._done[key] = getattr(self, f"_{kind}")(tree)
        return self._done[key]

    def _ref(self, tree: Tree | Token) -> list[Match]:
        name = _ref_name(tree)
        assert name is not None
        return [Match({name: [e]}) for e in self._events(name)]

    def _or_expr(self, tree: Tree) -> list[Match]:
        out: list[Match] = []
        for child in tree.children:
            out.extend(self._eval(child))
        return sorted(out, key=lambda m: (m.start is None, m.start or datetime.min))

    def _and_expr(self, tree: Tree) -> list[Match]:
        positives = [c for c in tree.children
                     if not (isinstance(c, Tree) and c.data == "negation")]
        negations = [c for c in tree.children if isinstance(c, Tree) and c.data == "negation"]
        # An absence without a window ("and not sel_rhb") holds or fails for every match
        # alike: when it fails, the rest is not evaluated (OG020's would search 10,510
        # cm_server lines of the 1 GB benchmark with a regex, then drop every match).
        for neg in negations:
            if self._opts(neg.children[1:])[0] is None and not self._absent(neg, Match()):
                return []
        if positives:
            matches = self._eval(positives[0])
            for other in positives[1:]:
                others = self._eval(other)
                if not others:
                    return []
                # both present: combine each match with the nearest match of the other term
                matches = [m.merged(min(others, key=lambda o: abs(
                    (o.start or datetime.min) - (m.start or datetime.min)))) for m in matches]
        else:
            matches = [Match()]
        for neg in negations:
            matches = [m for m in matches if self._absent(neg, m)]
        return matches

    def _negation(self, tree: Tree) -> list[Match]:
        return [Match()] if self._absent(tree, Match()) else []

    def _absent(self, neg: Tree, match: Match) -> bool:
        inner = neg.children[0]
        window, scope = self._opts(neg.children[1:])
        name = _ref_name(inner)
        anchor = match.end
        if window is None or anchor is None:
            return not (self._events(name) if name is not None else self._eval(inner))
        close = anchor + window
        if self.bundle_end is not None and self.bundle_end < close:
            return False  # the logs end before the window closes: absence not proven
        if name is not None:  # one selection: look at its events in the window, no Matches
            return not self._any_in_window(name, anchor, close, scope, set(match.nodes))
        for m in self._eval(inner):
            if m.start is None or not (anchor <= m.start <= close):
                continue
            if scope == "same_node" and not set(m.nodes) & set(match.nodes):
                continue
            if scope == "different_nodes" and set(m.nodes) & set(match.nodes):
                continue
            return False
        return True

    def _any_in_window(self, name: str, start: datetime, end: datetime, scope: str | None,
                       nodes: set[str]) -> bool:
        """Is an event of ``name`` in ``[start, end]`` (on ``nodes``, or off them, by scope)?
        The same answer as evaluating the reference, without a Match per event (a rule that
        says ``not sel_rhb within 3m`` would build one for each of 27,000 RHB lines)."""
        events = self._events(name)
        times = self._times(name)
        for e in events[bisect_left(times, start):bisect_right(times, end)]:
            if scope == "same_node" and not (e.node and e.node in nodes):
                continue
            if scope == "different_nodes" and e.node and e.node in nodes:
                continue
            return True
        return False

    def _times(self, name: str) -> list[datetime]:
        key = (name, self.node)
        if key not in self._time_lists:
            self._time_lists[key] = [e.time for e in self._events(name)]  # type: ignore[misc]
        return self._time_lists[key]

    def _seq(self, tree: Tree) -> list[Match]:
        names = [str(c) for c in tree.children if isinstance(c, Token)]
        window, scope = self._opts(tree.children)
        lists = [self._events(n) for n in names]
        times = [self._times(n) for n in names]
        out: list[Match] = []
        for first in lists[0]:
            chain = [first]
            for nxt, nxt_times in zip(lists[1:], times[1:], strict=True):
                prev = chain[-1]
                cand = None
                # the lists are in time order: start at prev's time, stop past the window
                for e in nxt[bisect_left(nxt_times, prev.time):]:
                    if window is not None and e.time - first.time > window:
                        break
                    if all(e is not c for c in chain) and self._scoped(scope, chain, e):
                        cand = e
                        break
                if cand is None:
                    break
                chain.append(cand)
            if len(chain) == len(names):
                m = Match()
                for n, e in zip(names, chain, strict=True):
                    m.events.setdefault(n, []).append(e)
                out.append(m)
        return out

    @staticmethod
    def _scoped(scope: str | None, chain: list[Event], e: Event) -> bool:
        if scope == "same_node":
            return all(x.node == e.node for x in chain)
        if scope == "different_nodes":
            return all(x.node != e.node for x in chain)
        return True

    def _count(self, tree: Tree) -> list[Match]:
        name = str(tree.children[0])
        op, n = str(tree.children[1]), int(tree.children[2])
        window, scope = self._opts(tree.children[3:])
        events = self._events(name)
        groups: dict[str, list[Event]] = {}
        for e in events:
            groups.setdefault(e.node if scope == "same_node" else "*", []).append(e)
        out: list[Match] = []
        for evs in groups.values():
            if window is None:
                if _compare(len(evs), op, n) and evs:
                    out.append(Match({name: evs}))
                continue
            i = 0
            while i < len(evs):
                j = i
                while j + 1 < len(evs) and evs[j + 1].time - evs[i].time <= window:
                    j += 1
                burst = evs[i:j + 1]
                if _compare(len(burst), op, n) and op in (">=", ">", "=="):
                    out.append(Match({name: burst}))
                    i = j + 1
                else:
                    i += 1
        return out


def _ref_name(tree: Tree | Token) -> str | None:
    """The selection name when a term is a plain reference, else None."""
    if isinstance(tree, Tree):
        return str(tree.children[0]) if tree.data == "ref" else None
    return str(tree)


def _compare(value: int, op: str, n: int) -> bool:
    return {">=": value >= n, ">": value > n, "==": value == n, "<=": value <= n,
            "<": value < n}[op]
