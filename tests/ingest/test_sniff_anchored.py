"""Sniffing tries an anchored pattern only where a line starts: the same answers as search.

``detect.search`` tried ``^`` at every column of the head (3 ms a file); ``line_test`` and
``_search_head`` use ``match`` at line starts instead, but only when every branch of the
pattern begins with ``^``. These tests hold that shortcut to the plain search, on the real
detect patterns and on patterns that must not take it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reformdiag.ingest.sniff import Candidate, _anchored, _search_head
from reformdiag.parse.registry import default_registry

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.mark.parametrize(("pattern", "anchored"), [
    (r"^a|b", False),  # one branch is not anchored
    (r"^a|^b", True),
    (r"^(?:a|b)", True),
    (r"(^a)", False),  # the anchor inside a group: kept on the safe side
    (r"\s*^a", False),
    (r"a^", False),
    (r"^\d+ x", True),
])
def test_only_patterns_anchored_on_every_branch_take_the_shortcut(pattern: str,
                                                                  anchored: bool) -> None:
    assert _anchored(re.compile(pattern, re.MULTILINE)) is anchored


def _heads() -> list[str]:
    files = sorted(p for p in SAMPLES.rglob("bundle/**/*") if p.is_file() and p.suffix != ".gz")
    return [p.read_bytes()[:65536].decode("utf-8", "replace") for p in files]


def _line_starts(text: str) -> list[int]:
    return [0, *(m.end() for m in re.finditer("\n", text))]


def test_every_format_detect_pattern_gives_the_search_answer_on_every_sample_head() -> None:
    candidates = default_registry().sniff_candidates()
    heads = _heads()
    assert len(heads) > 20
    for cand in candidates:
        for text in heads:
            assert _search_head(cand.detect, text, _line_starts(text)) == bool(
                cand.detect.search(text)), (cand.id, text[:80])
            lines = text.splitlines()
            test = cand.line_test()
            assert [bool(test(ln)) for ln in lines] == [bool(cand.detect.search(ln))
                                                        for ln in lines], cand.id


_TEXT = st.text(alphabet="ab \n\t[]:1x", max_size=60)
_PATTERNS = [r"^a", r"^a\s*$", r"^\[\s*a\s*\]\s*$", r"^(a|b) x", r"^a|b", r"\s*^b", r"^a|^ b"]


@settings(max_examples=300, deadline=None)
@given(text=_TEXT, pattern=st.sampled_from(_PATTERNS))
def test_search_head_is_search(text: str, pattern: str) -> None:
    compiled = re.compile(pattern, re.MULTILINE)
    assert _search_head(compiled, text, _line_starts(text)) == bool(compiled.search(text))
    cand = Candidate("x", compiled)
    for line in text.splitlines():
        assert bool(cand.line_test()(line)) == bool(compiled.search(line))
