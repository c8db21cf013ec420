"""Every format spec checks itself with its own sample lines (no per-format code here).

For each grammars/<id>.yaml: the spec loads and its grammar builds in strict LALR mode; every
sample parses to the expected kind and fields; every template and every grammar line rule is
exercised by a sample; every sample sniffs to its own format and to no other; rejects do not.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from reformdiag.ingest.sniff import Candidate, sniff
from reformdiag.model import Event, Unparsed
from reformdiag.parse.record import parse_record
from reformdiag.parse.registry import load_registry

REGISTRY = load_registry()
FORMATS = {f.id: f for f in REGISTRY}


def _samples() -> list[Any]:
    out = []
    for f in REGISTRY:
        for s in f.spec.samples:
            out.append(pytest.param(f.id, s, id=f"{f.id}::{s['name']}"))
    return out


def _rejects() -> list[Any]:
    return [pytest.param(f.id, s, id=f"{f.id}::reject::{s['name']}")
            for f in REGISTRY for s in f.spec.rejects]


def _text(sample: dict[str, Any]) -> str:
    return sample.get("line") or sample["lines"]


def _events(fmt_id: str, sample: dict[str, Any]) -> list[Event]:
    fmt = FORMATS[fmt_id]
    text = _text(sample)
    filename = sample.get("file", "sample.log")
    if fmt.spec.layout == "document":
        tree = fmt.parser.parse(text if text.endswith("\n") else text + "\n")
        return fmt.document(tree, spec=fmt.spec, file=filename, first_line=1, host=None)
    item = parse_record(fmt, text.rstrip("\n"), file=filename, line=1, filename=filename)
    assert not isinstance(item, Unparsed), f"{item.reason}: {item.text}"
    return [item]


def _subset(event: Event, expect: dict[str, Any]) -> list[str]:
    problems = []
    for key, want in expect.items():
        if key == "fields":
            for name, value in want.items():
                got = event.fields.get(name)
                if got != value:
                    problems.append(f"fields.{name}: got {got!r}, want {value!r}")
        elif key == "records":
            continue
        elif key == "local_time" and want is None:
            if event.local_time is not None:
                problems.append(f"local_time: got {event.local_time}, want none")
        elif getattr(event, key) != want:
            problems.append(f"{key}: got {getattr(event, key)!r}, want {want!r}")
    return problems


@pytest.mark.data
@pytest.mark.parametrize("fmt_id", sorted(FORMATS))
def test_grammar_builds_strict(fmt_id: str) -> None:
    """The grammar is LALR(1) without terminal collisions (lark strict mode)."""
    from reformdiag.parse.registry import load_registry as fresh

    fmt = fresh(strict=True).get(fmt_id)
    assert fmt.parser is not None


@pytest.mark.data
@pytest.mark.parametrize("fmt_id,sample", _samples())
def test_sample_parses_as_expected(fmt_id: str, sample: dict[str, Any]) -> None:
    events = _events(fmt_id, sample)
    expect = sample["expect"]
    if FORMATS[fmt_id].spec.layout == "document":
        if "events" in expect:
            assert len(events) == expect["events"]
        for kind, count in (expect.get("kinds") or {}).items():
            assert sum(e.kind == kind for e in events) == count, kind
        for want in expect.get("contains", []):
            assert any(not _subset(e, want) for e in events), f"no event like {want}"
        return
    (event,) = events
    problems = _subset(event, expect)
    assert not problems, problems
    # byte-exact: the record keeps its raw text (sqlfluff-style round trip)
    assert event.raw == _text(sample).rstrip("\n")
    if "records" in expect:
        assert event.line_count == len(_text(sample).rstrip("\n").split("\n"))


@pytest.mark.data
@pytest.mark.parametrize("fmt_id", sorted(FORMATS))
def test_every_template_has_a_sample(fmt_id: str) -> None:
    """Every template kind is exercised by a full-line sample or its own message sample."""
    fmt = FORMATS[fmt_id]
    covered = {s["expect"].get("kind") for s in fmt.spec.samples}
    for s in fmt.spec.samples:
        covered.update(c.get("kind") for c in s["expect"].get("contains", []))
    missing = []
    for template in fmt.spec.templates:
        if template.kind in covered:
            continue
        message = getattr(template, "sample", None)
        if not message:
            missing.append(template.kind)
            continue
        found, _ = fmt.templates.classify(message)
        assert found is not None and found.kind == template.kind, (
            f"{template.kind}: its sample {message!r} is named "
            f"{found.kind if found else 'nothing'}")
    assert not missing, f"templates without any sample: {missing}"


@pytest.mark.data
@pytest.mark.parametrize("fmt_id", sorted(FORMATS))
def test_every_grammar_line_rule_has_a_sample(fmt_id: str) -> None:
    fmt = FORMATS[fmt_id]
    if fmt.spec.layout == "document":
        return
    grammar = (fmt.grammar_dir / f"{fmt.spec.grammar}.lark").read_text()
    rules = set(re.findall(r"^(\w+_(?:line|entry)|head):", grammar, re.M))
    seen = set()
    for s in fmt.spec.samples:
        tree = fmt.parser.parse(_text(s).rstrip("\n"))
        seen.update(str(c.data) for c in tree.children if hasattr(c, "data"))
    assert rules <= seen, f"line rules without a sample: {sorted(rules - seen)}"


def _candidates() -> list[Candidate]:
    return REGISTRY.sniff_candidates()


@pytest.mark.data
@pytest.mark.parametrize("fmt_id,sample", _samples())
def test_sample_sniffs_to_its_own_format(fmt_id: str, sample: dict[str, Any]) -> None:
    text = _text(sample)
    if FORMATS[fmt_id].spec.layout != "document" and not FORMATS[fmt_id].spec.detect.search(
            text.split("\n", 1)[0]):
        pytest.skip("line without the format's usual head (cut timestamp, raw stderr)")
    verdict = sniff(text.encode(), "x", _candidates())
    assert verdict.format == fmt_id, verdict.reason
    others = [c.id for c in _candidates() if c.id != fmt_id and c.detect.search(
        text.split("\n", 1)[0])]
    assert not others, f"also claimed by {others}"


@pytest.mark.data
@pytest.mark.parametrize("fmt_id,sample", _rejects())
def test_reject_is_not_this_format(fmt_id: str, sample: dict[str, Any]) -> None:
    verdict = sniff(_text(sample).encode(), "x", _candidates())
    assert verdict.format != fmt_id
