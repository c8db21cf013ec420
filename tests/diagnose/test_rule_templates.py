"""Diagnosis texts: the rule loader checks them and keeps Jinja's compiled code, which the
engine renders from (without compiling); the text is compiled again only when there is no code
or it came from another Jinja version."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from reformdiag.diagnose import engine
from reformdiag.diagnose.rules import jinja_version, load_rule, templates
from reformdiag.errors import DefinitionError

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "rules" / "ndb" / "ND001_ndb_two_presidents_initial_start.yaml"
FIGURE = '  stuck_s: {value: "{{ sel_dual.fields.resolved_s }}", unit: s, label: start blocked for}'


def _copy(tmp_path: Path, figure: str = FIGURE) -> Path:
    text = SOURCE.read_text(encoding="utf-8")
    assert text.count(FIGURE) == 1
    path = tmp_path / SOURCE.name
    path.write_text(text.replace(FIGURE, figure), encoding="utf-8")
    return path


def _context() -> dict[str, object]:
    dual = SimpleNamespace(time="2024-05-02 10:00:00", fields={
        "presidents": ["ndb-1", "ndb-2"], "detected_by": "CM_REGCONF", "resolved": True,
        "rejoined_node": "ndb-2", "resolved_s": 42, "check_line": ""})
    return {"sel_dual": dual, "label": lambda key: f"<{key}>"}


def test_every_text_of_a_rule_is_kept_compiled_and_renders_as_its_source(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rule = load_rule(_copy(tmp_path))
    figure_text = str(rule.figures["stuck_s"]["value"])
    assert set(rule.template_code) == {rule.root_cause, rule.remediation, figure_text}
    assert rule.template_engine == jinja_version()
    ctx = _context()
    expected = {text: templates().from_string(text).render(**ctx) for text in rule.template_code}

    def no_compiling(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("compiled again")

    monkeypatch.setattr(templates(), "compile", no_compiling)
    engine._TEMPLATES.clear()
    for text, rendered in expected.items():
        assert engine._template(rule, text).render(**ctx) == rendered
    assert "<ndb-1> and <ndb-2> each elected themselves president" in expected[rule.root_cause]
    assert expected[figure_text] == "42"
    engine._TEMPLATES.clear()


def test_code_from_another_jinja_or_no_code_is_compiled_from_the_text(tmp_path: Path) -> None:
    rule = load_rule(_copy(tmp_path))
    ctx = _context()
    expected = templates().from_string(rule.root_cause).render(**ctx)
    # code from another version would be run by this Jinja's runtime: not used
    rule.template_engine = "0.0-other"
    rule.template_code = dict.fromkeys(rule.template_code, b"not code")
    engine._TEMPLATES.clear()
    assert engine._template(rule, rule.root_cause).render(**ctx) == expected
    rule.template_code = {}
    rule.template_engine = jinja_version()
    engine._TEMPLATES.clear()
    assert engine._template(rule, rule.root_cause).render(**ctx) == expected
    engine._TEMPLATES.clear()


def test_a_figure_template_that_does_not_parse_is_refused(tmp_path: Path) -> None:
    path = _copy(tmp_path, FIGURE.replace("resolved_s }}", "resolved_s }"))
    with pytest.raises(DefinitionError) as err:
        load_rule(path)
    assert "template in 'figures' does not parse" in str(err.value)
    assert SOURCE.name in str(err.value.location)


def test_a_rule_missing_several_keys_names_them_all(tmp_path: Path) -> None:
    """Whoever writes a rule learns every missing key at once, not one per try."""
    text = SOURCE.read_text(encoding="utf-8")
    kept = [line for line in text.splitlines(keepends=True)
            if not line.startswith(("title:", "references:"))]
    path = tmp_path / SOURCE.name
    path.write_text("".join(kept), encoding="utf-8")
    with pytest.raises(DefinitionError, match="missing required keys 'title', 'references'"):
        load_rule(path)


def test_explain_shows_every_text_without_jinja_source() -> None:
    """`reformdiag explain` printed the texts' Jinja source ({% if %} blocks, filters): each
    value a finding fills in is now shown by where it comes from."""
    from reformdiag.cli.rules import explain_text
    from reformdiag.diagnose.catalog import rule_set

    rules = rule_set()
    assert len(rules) > 50
    for rule in rules:
        text = explain_text(rule).replace("<...> is a value", "")
        assert not any(mark in text for mark in ("{{", "{%", "}}", "%}", "<.", "<>")), rule.id
    og003 = next(r for r in rules if r.id == "OG003")
    assert "accepted connections <sel_recovery.fields.recovery_s> s after" in " ".join(
        explain_text(og003).split())
    og027 = next(r for r in rules if r.id == "OG027")
    assert "<sel_pipe.fields.peer_node> cannot be reached" in " ".join(
        explain_text(og027).split())
