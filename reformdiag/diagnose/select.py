"""Diagnose stage: does an event satisfy a rule's selection?

A selection is a mapping: ``source`` and ``kind`` (a value or a list), ``level`` (``warning``
or ``>=warning``), ``node``, ``message`` (regex on the whitespace-collapsed message), and
``fields`` / ``not_fields``: ``name: value``, ``name: [v1, v2]``, ``name: {gt: 30}``,
``name: 're:<regex>'``.
"""

from __future__ import annotations

import re
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


def matches(ev: Event, sel: dict[str, Any]) -> bool:
    if "source" in sel and ev.source not in _listify(sel["source"]):
        return False
    if "kind" in sel and ev.kind not in _listify(sel["kind"]):
        return False
    if "node" in sel and ev.node not in _listify(sel["node"]):
        return False
    level = sel.get("level")
    if level is not None:
        text = str(level)
        if text.startswith(">="):
            if level_rank(ev.level) < level_rank(text[2:]):
                return False
        elif ev.level != text:
            return False
    for name, want in (sel.get("fields") or {}).items():
        if not field_matches(ev.fields.get(name), want):
            return False
    for name, want in (sel.get("not_fields") or {}).items():
        if field_matches(ev.fields.get(name), want):
            return False
    if "message" in sel and not _regex(str(sel["message"])).search(
            normalise_message(ev.message)):
        return False
    return True
