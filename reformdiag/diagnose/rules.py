"""Diagnose stage: load rule files (``rules/<system>/<ID>_<slug>.yaml``) and check them.

A malformed rule is reported with its file, line and a hint; ``load_rules`` collects every
problem first and raises one DefinitionError listing them all (analyze refuses to run).
"""

from __future__ import annotations

import marshal
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reformdiag.diagnose.condition import Condition, ConditionError, parse_condition
from reformdiag.errors import DefinitionError, ErrorLocation
from reformdiag.model import LEVELS, SEVERITIES
from reformdiag.parse.yamlload import definition_error, load_mapping, strip_lines
from reformdiag.resources import rules_dir

if TYPE_CHECKING:
    from jinja2 import Environment

_ID = re.compile(r"^(OG|ND|CS|OB|GN)\d{3}$")
_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_SELECTION_KEYS = {"source", "kind", "level", "fields", "message", "node", "not_fields"}
_REQUIRED = ("id", "name", "title", "level", "systems", "description", "references", "match",
             "diagnosis", "falsepositives", "tests")


@lru_cache(maxsize=1)
def templates() -> Environment:
    """The Jinja environment of the diagnosis texts. Jinja is imported when a text is first
    checked or rendered (~40 ms): a run that loads checked rules from the definition cache
    and finds nothing never needs it."""
    from jinja2 import Environment, StrictUndefined

    return Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


def outline(text: str) -> str:
    """A diagnosis text as ``explain`` shows it: each value a finding fills in written as
    where it comes from (``<sel_recovery.fields.recovery_s>``), each ``if`` read as true (its
    first case), instead of the Jinja source. A text this cannot render stays as written."""
    try:
        return _outline_env().from_string(text).render(label=lambda key: key)
    except Exception:  # noqa: BLE001 - shown as written rather than not at all
        return text


@lru_cache(maxsize=1)
def _outline_env() -> Environment:
    from jinja2 import Environment, Undefined

    class Value(Undefined):  # type: ignore[misc]
        """A value the finding fills in: anything asked of it is another such value, named by
        where it comes from. One item of it (``who[0]``, ``all_sel_kick[-1]``) shows nothing
        as text (the capital of a name) and its attributes come from the whole."""

        __slots__ = ()
        ITEM = "\0"

        def _base(self) -> str:
            return str(self._undefined_name).lstrip(self.ITEM)

        def __str__(self) -> str:
            name = str(self._undefined_name)
            return "" if name.startswith(self.ITEM) else f"<{name}>"

        def __getattr__(self, name: str) -> Value:
            if name.startswith("__"):
                raise AttributeError(name)
            return Value(name=f"{self._base()}.{name}")

        def __getitem__(self, key: object) -> Value:
            if isinstance(key, slice):  # a part of its text (who[1:]): the value itself
                return self
            if isinstance(key, int):
                return Value(name=self.ITEM + self._base())
            return Value(name=f"{self._base()}.{key}")

        def __call__(self, *args: object, **kwargs: object) -> Value:
            base, _, method = self._base().rpartition(".")
            if method == "get" and args:  # fields.get('peer_node')
                return Value(name=f"{base}.{args[0]}")
            return Value(name=base or method)  # reason.split(':'): still the reason

        def __bool__(self) -> bool:
            return True

        def __iter__(self):  # type: ignore[no-untyped-def]
            yield self

        def __len__(self) -> int:
            return 1

        def __contains__(self, item: object) -> bool:
            return True

        def __lt__(self, other: object) -> bool:
            return True

        __le__ = __gt__ = __ge__ = __lt__

        def __add__(self, other: object) -> Value:  # all_sel_a + all_sel_b: still from a
            return self

        __radd__ = __add__

    def passing(real: Any) -> Any:  # a filter that leaves such a value as it is
        return lambda value, *a, **k: value if isinstance(value, Value) else real(value, *a, **k)

    env = Environment(undefined=Value, autoescape=False, keep_trailing_newline=False)
    for name in ("round", "int", "float", "abs", "max", "min", "upper", "lower", "trim",
                 "replace", "capitalize", "title", "string"):
        env.filters[name] = passing(env.filters[name])
    return env


def jinja_version() -> str:
    import jinja2

    return str(jinja2.__version__)


@dataclass
class Rule:
    id: str
    name: str
    title: str
    level: str
    systems: list[str]
    description: str
    references: list[str]
    selections: dict[str, dict[str, Any]]
    condition: Condition
    path: Path
    status: str = "experimental"
    requires_all: list[str] = field(default_factory=list)
    requires_any: list[str] = field(default_factory=list)
    optional: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    root_cause: str = ""
    remediation: str = ""
    falsepositives: list[str] = field(default_factory=list)
    related: list[dict[str, Any]] = field(default_factory=list)
    explains: list[str] = field(default_factory=list)
    anchors: dict[str, list[str]] = field(default_factory=dict)  # format -> extra phrases
    tests: dict[str, Any] = field(default_factory=dict)
    min_severity_for_fold: str = "info"
    # Jinja's compiled code of each diagnosis text, and the Jinja version that made it
    template_code: dict[str, bytes] = field(default_factory=dict, repr=False)
    template_engine: str = ""

    @property
    def sources(self) -> list[str]:
        return [*self.requires_all, *self.requires_any, *self.optional]


_err = definition_error


def _compile_template(path: Path, data: Any, key: str, text: str) -> bytes:
    """Check a diagnosis text and keep what Jinja compiled it to (marshalled code).

    Rules come from the definition cache; with their templates' code there, rendering a
    finding needs no compiling (~1.7 ms a text: 35 ms for the 22 texts the 1 GB benchmark's
    findings render, after the workers, where nothing else can run)."""
    from jinja2 import TemplateSyntaxError

    try:
        return marshal.dumps(templates().compile(text))
    except TemplateSyntaxError as exc:
        raise _err(path, data, key, f"template in {key!r} does not parse: {exc.message}",
                   "diagnosis texts are Jinja templates: {{ value }}, {% if %}...{% endif %}"
                   ) from exc


def load_rule(path: Path, known_sources: set[str] | None = None,
              known_kinds: set[str] | None = None) -> Rule:
    data = load_mapping(path, _REQUIRED, "rule file",
                        "see schemas/rule.schema.json and CONTRIBUTING.md 'Add a rule'")
    rid = str(data["id"])
    if not _ID.match(rid) or not path.name.startswith(rid + "_"):
        raise _err(path, data, "id", f"rule id {rid!r} must be XX999 and start the file name",
                   "e.g. OG001 in rules/opengauss/OG001_reform_first_round_failure.yaml")
    if not _NAME.match(str(data["name"])):
        raise _err(path, data, "name", f"rule name {data['name']!r} is not dotted snake_case",
                   "e.g. reform.first_round_failure")
    if data["level"] not in SEVERITIES:
        raise _err(path, data, "level", f"unknown level {data['level']!r}",
                   f"use one of {', '.join(SEVERITIES)}")
    match = data["match"]
    if not isinstance(match, dict) or "condition" not in match:
        raise _err(path, data, "match", "match needs named selections and a condition",
                   "match: {sel_x: {kind: ...}, condition: sel_x}")
    selections: dict[str, dict[str, Any]] = {}
    for name, sel in match.items():
        if name in ("condition", "__line__", "__lines__"):
            continue
        if not isinstance(sel, dict):
            raise _err(path, match, name, f"selection {name!r} must be a mapping",
                       "e.g. sel_x: {source: dms_run_log, kind: node_disconnect}")
        unknown = set(sel) - _SELECTION_KEYS - {"__line__", "__lines__"}
        if unknown:
            raise _err(path, sel, None, f"selection {name!r} has unknown keys {sorted(unknown)}",
                       f"selections use {', '.join(sorted(_SELECTION_KEYS))}")
        if known_sources is not None:
            for src in _as_list(sel.get("source")):
                if src not in known_sources:
                    raise _err(path, sel, "source", f"unknown source {src!r} in {name!r}",
                               f"known: {', '.join(sorted(known_sources))}")
        if known_kinds is not None:
            for kind in _as_list(sel.get("kind")):
                if kind not in known_kinds:
                    raise _err(path, sel, "kind", f"unknown event kind {kind!r} in {name!r}",
                               "kinds come from the format templates and the episode builders "
                               "(reformdiag rules kinds lists them)")
        level = sel.get("level")
        if level is not None and str(level).lstrip(">=") not in LEVELS:
            raise _err(path, sel, "level", f"unknown level {level!r}",
                       f"use e.g. '>=warning' or one of {', '.join(LEVELS)}")
        if "message" in sel:
            try:
                re.compile(str(sel["message"]))
            except re.error as exc:
                raise _err(path, sel, "message", f"bad message regex: {exc}",
                           "Python re syntax") from exc
        selections[name] = strip_lines(sel)
    try:
        condition = parse_condition(str(match["condition"]))
    except ConditionError as exc:
        raise _err(path, match, "condition", str(exc),
                   "e.g. 'sel_a then sel_b within 60s on same node'") from exc
    for name in condition.names():
        if name.endswith("*"):
            if not any(s.startswith(name[:-1]) for s in selections):
                raise _err(path, match, "condition", f"{name!r} matches no selection",
                           "define a selection with that prefix")
        elif name not in selections:
            raise _err(path, match, "condition", f"condition names unknown selection {name!r}",
                       f"defined: {', '.join(sorted(selections))}")
    diagnosis = data["diagnosis"]
    code: dict[str, bytes] = {}
    for key in ("root_cause", "remediation"):
        if key not in diagnosis:
            raise _err(path, diagnosis, None, f"diagnosis needs {key!r}",
                       "root_cause: one paragraph; remediation: numbered steps")
        text = str(diagnosis[key]).strip()  # as the engine renders it
        code[text] = _compile_template(path, diagnosis, key, text)
    if not all(isinstance(fp, str) for fp in data["falsepositives"]):
        raise _err(path, data, "falsepositives", "each false positive must be a text",
                   "quote items that contain ': ' so YAML does not read them as mappings")
    tests = data["tests"]
    if not tests.get("positive") or not tests.get("negative"):
        raise _err(path, data, "tests", "a rule needs positive and negative test cases",
                   "tests: {positive: [...], negative: [...]}")
    requires = data.get("requires", {}) or {}
    figures = strip_lines(data.get("figures", {}) or {})
    for fname, fig in figures.items():
        for end in ("from", "to", "count"):
            ref = fig.get(end)
            if ref is not None and ref not in selections:
                raise _err(path, data, "figures", f"figure {fname!r} names unknown "
                           f"selection {ref!r}", "use a selection name from match:")
        if "value" in fig:
            code[str(fig["value"])] = _compile_template(path, data, "figures",
                                                        str(fig["value"]))
    evidence = list(data.get("evidence", []) or [])
    for name in evidence:
        if name not in selections:
            raise _err(path, data, "evidence", f"evidence names unknown selection {name!r}",
                       "list selection names")
    return Rule(
        id=rid, name=str(data["name"]), title=str(data["title"]), level=str(data["level"]),
        systems=list(data["systems"]), description=str(data["description"]).strip(),
        references=[str(r) for r in data["references"]], selections=selections,
        condition=condition, path=path, status=str(data.get("status", "experimental")),
        requires_all=list(requires.get("all", []) or []),
        requires_any=list(requires.get("any", []) or []),
        optional=list(requires.get("optional", []) or []),
        evidence=evidence, figures=figures,
        root_cause=str(diagnosis["root_cause"]).strip(),
        remediation=str(diagnosis["remediation"]).strip(),
        falsepositives=[str(f) for f in data["falsepositives"]],
        related=strip_lines(data.get("related", []) or []),
        explains=list(data.get("explains", []) or []),
        anchors=strip_lines(data.get("anchors", {}) or {}),
        tests=strip_lines(tests),
        template_code=code, template_engine=jinja_version(),
    )


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def rule_files(folders: list[Path]) -> list[Path]:
    files: list[Path] = []
    for folder in folders:
        files.extend(sorted(folder.rglob("*.yaml")))
    return files


def load_rules(extra: list[Path] | None = None, known_sources: set[str] | None = None,
               known_kinds: set[str] | None = None) -> list[Rule]:
    """Load the packaged rules plus ``extra`` folders; collect every error, then raise."""
    folders = [rules_dir(), *(extra or [])]
    rules, errors = [], []
    for path in rule_files(folders):
        try:
            rules.append(load_rule(path, known_sources, known_kinds))
        except DefinitionError as exc:
            errors.append(exc)
    seen: dict[str, Path] = {}
    for rule in rules:
        for key in (rule.id, rule.name, rule.title):
            if key in seen:
                errors.append(DefinitionError(f"duplicate rule id/name/title {key!r}",
                                              ErrorLocation(str(rule.path)),
                                              f"also used by {seen[key]}"))
            seen[key] = rule.path
    if errors:
        raise RuleErrors(errors)
    return sorted(rules, key=lambda r: r.id)


class RuleErrors(DefinitionError):
    """Several rule files are broken; renders every one of them."""

    def __init__(self, errors: list[DefinitionError]) -> None:
        super().__init__(f"{len(errors)} rule definition error(s)")
        self.errors = errors

    def render(self) -> str:
        return "\n\n".join(e.render() for e in self.errors)
