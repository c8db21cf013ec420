"""Diagnose stage: does an event satisfy a rule's selection?

A selection is a mapping: ``source`` and ``kind`` (a value or a list), ``level`` (``warning``
or ``>=warning``), ``node``, ``message`` (regex on the whitespace-collapsed message), and
``fields`` / ``not_fields``: ``name: value``, ``name: [v1, v2]``, ``name: {gt: 30}``,
``name: 're:<regex>'``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from reformdiag.model import Event, level_rank
from reformdiag.parse.spec import normalise_message

_OPS = {
    "gt": lambda a, b: a > b, "gte": lambda a, b: a >= b, "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b, "ne": lambda a, b: a != b, "eq": lambda a, b: a == b,
}


@lru_cache(maxsize=1024)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def field_matches(actual: Any, want: Any) -> bool:
    if isinstance(want, dict):
        if actual is None:
            return False
        try:
            return all(_OPS[op](actual, value) if op in _OPS
                       else bool(_regex(str(value)).search(str(actual)))
                       for op, value in want.items())
        except TypeError:
            return False
    if isinstance(want, list):
        return any(field_matches(actual, w) for w in want)
    if isinstance(want, str) and want.startswith("re:"):
        return actual is not None and bool(_regex(want[3:]).search(str(actual)))
    if isinstance(want, bool) or isinstance(actual, bool):
        return actual is want or actual == want
    return actual == want or (actual is not None and str(actual) == str(want))


def compile_selection(sel: dict[str, Any]) -> Callable[[Event], bool]:
    """The selection as one predicate: the sets, level rank and regexes are worked out once
    (a rule's selection is tried on thousands of events: RHB rows, redo progress)."""
    tests: list[Callable[[Event], bool]] = []
    if "source" in sel:
        sources = set(_listify(sel["source"]))
        tests.append(lambda ev: ev.source in sources)
    if "kind" in sel:
        kinds = set(_listify(sel["kind"]))
        tests.append(lambda ev: ev.kind in kinds)
    if "node" in sel:
        nodes = set(_listify(sel["node"]))
        tests.append(lambda ev: ev.node in nodes)
    level = sel.get("level")
    if level is not None:
        text = str(level)
        if text.startswith(">="):
            floor = level_rank(text[2:])
            tests.append(lambda ev: level_rank(ev.level) >= floor)
        else:
            tests.append(lambda ev: ev.level == text)
    for name, want in (sel.get("fields") or {}).items():
        tests.append(lambda ev, name=name, want=want: field_matches(ev.fields.get(name), want))
    for name, want in (sel.get("not_fields") or {}).items():
        tests.append(lambda ev, name=name, want=want:
                     not field_matches(ev.fields.get(name), want))
    if "message" in sel:
        search = _regex(str(sel["message"])).search
        tests.append(lambda ev: bool(search(normalise_message(ev.message))))
    # Most selections have one to three tests: chained directly, without a generator per
    # event (the RHB rows and redo progress of a large bundle are tried by the ten thousand).
    if not tests:
        return lambda ev: True
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        first, second = tests
        return lambda ev: first(ev) and second(ev)
    if len(tests) == 3:
        first, second, third = tests
        return lambda ev: first(ev) and second(ev) and third(ev)
    return lambda ev: all(test(ev) for test in tests)
