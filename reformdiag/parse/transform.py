"""Parse stage: turn a Lark tree of one record into a ``Header`` using the spec's naming.

The transformer is generic and driven by the spec, so a new format needs no Python:

* terminal names are field names (``TID`` -> ``tid``), cleaned by ``token_fields`` regexes;
* ``TIMESTAMP``, ``UTC_OFFSET``, ``LEVEL`` and ``MODULE`` fill the event's time, offset,
  level and module; ``message`` and ``continuation`` subtrees give the message text;
* a run of ``field`` subtrees (pg_log's log_line_prefix) is named by the first matching
  ``prefix`` layout: names from the head, names from the tail, the rest joined as ``middle``;
* ``rule_fields`` adds constants per grammar rule (``reaper_line: {module: postmaster}``).

Example (opengauss_pg_log)::

    2024-09-19 17:14:12.592 66ebeab1.1 [unknown] 281466178961424 [unknown] 0 dn_6001_6002_6003 01000  0 [BACKEND] WARNING:  [SS reform]...
    -> Header(time_text='2024-09-19 17:14:12.592', level_word='WARNING', module='BACKEND',
              fields={'session': '66ebeab1.1', 'tid': 281466178961424, 'app': '[unknown]', ...})
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lark import Token, Tree

from reformdiag.parse.spec import as_number

# Terminals that fill the Header itself rather than ``fields``.
_SPECIAL = {"TIMESTAMP": "time", "UTC_OFFSET": "utc_offset", "LEVEL": "level", "MODULE": "module"}
_NOT_OFFSET = re.compile(r"[^0-9+-]")
_OFFSET_HOURS = re.compile(r"[+-]?[0-9]{1,2}")


def _glue(m: re.Match[str]) -> str:
    return m.group(0).replace(" ", "_")


@dataclass(slots=True)
class Header:
    """The structural part of a record, before message templates name its kind."""

    rule: str = ""
    time_text: str | None = None
    utc_offset_min: int | None = None
    level_word: str = ""
    module: str = ""
    message: str = ""
    continuation: list[str] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PrefixLayout:
    when: re.Pattern[str] | None
    head: tuple[str, ...]
    tail: tuple[str, ...]
    middle: str | None


@dataclass(frozen=True, slots=True)
class TokenField:
    name: str
    regex: re.Pattern[str] | None




class SpecTransformer:
    """Generic, spec-driven transformer (see module docstring)."""

    def __init__(self, spec_data: dict[str, Any]) -> None:
        self.layouts = [
            PrefixLayout(
                when=re.compile(p["when"]) if p.get("when") else None,
                head=tuple(p.get("head", [])),
                tail=tuple(p.get("tail", [])),
                middle=p.get("middle"),
            )
            for p in spec_data.get("prefix", []) or []
        ]
        self.token_fields = {
            name: TokenField(
                name=str(cfg.get("name", name.lower())),
                regex=re.compile(cfg["regex"]) if cfg.get("regex") else None,
            )
            for name, cfg in (spec_data.get("token_fields", {}) or {}).items()
            if not name.startswith("__")
        }
        self.rule_fields = {
            k: v for k, v in (spec_data.get("rule_fields", {}) or {}).items()
            if not k.startswith("__")
        }
        suffix = spec_data.get("message_suffix")
        self.message_suffix = re.compile(suffix, re.DOTALL) if suffix else None
        merges = spec_data.get("merge_fields", []) or []
        self.merges = [re.compile(m) for m in merges]
        # Codes that look numeric but are not numbers (SQLSTATE 25006, error codes).
        self.text_fields = frozenset(spec_data.get("text_fields", []) or [])
        self._plans: dict[tuple[str, str], tuple[str, re.Pattern[str] | None]] = {}

    # -- tree walking --------------------------------------------------------
    # Leaves are told from subtrees by ``isinstance(child, Tree)``: with the lark-cython
    # accelerator (registry.py) tokens are not ``lark.Token`` (nor str), though they have the
    # same ``type`` and ``str()``. Kept records go through here one by one, so the per-token
    # work is planned once per (rule, terminal) pair (``_plan``).
    def transform(self, tree: Tree) -> Header:
        header = Header()
        prefix: list[str] = []
        for child in tree.children:
            if isinstance(child, Tree):
                data = child.data
                if data == "continuation":
                    header.continuation.append(
                        "".join(str(t) for t in child.children if t.type != "NL")
                    )
                else:
                    header.rule = str(data)
                    self._walk(child, header, prefix)
            else:
                self._token(child, header, header.rule)
        if prefix:
            self._name_prefix(prefix, header)
        rule_fields = self.rule_fields.get(header.rule)
        if rule_fields:
            for key, value in rule_fields.items():
                if key == "module":
                    header.module = header.module or str(value)
                elif key == "level":
                    header.level_word = header.level_word or str(value)
                elif not key.startswith("__"):
                    header.fields.setdefault(key, value)
        if self.message_suffix is not None:
            text = header.message if not header.continuation else header.continuation[-1]
            m = self.message_suffix.search(text)
            if m:
                stripped = text[: m.start()].rstrip()
                if header.continuation:
                    header.continuation[-1] = stripped
                else:
                    header.message = stripped
                header.fields.update({k: v for k, v in m.groupdict().items() if v})
        return header

    def _walk(self, tree: Tree, header: Header, prefix: list[str]) -> None:
        rule = str(tree.data)
        for child in tree.children:
            if not isinstance(child, Tree):
                self._token(child, header, rule, prefix)
            elif child.data == "field":  # one field per token (grammars that list them)
                prefix.append(str(child.children[0]))
            elif child.data == "message":
                header.message = " ".join([str(t) for t in child.children]).strip()
            else:
                self._walk(child, header, prefix)

    def _plan(self, rule: str, name: str) -> tuple[str, re.Pattern[str] | None]:
        """Where a terminal of a rule goes: (target, cleaning regex)."""
        cfg = self.token_fields.get(f"{rule}.{name}") or self.token_fields.get(name)
        if cfg is not None:
            return cfg.name, cfg.regex
        return _SPECIAL.get(name, name.lower()), None

    def _token(self, token: Token, header: Header, rule: str, prefix: list[str] | None = None
               ) -> None:
        name = token.type
        if name == "PREFIX" and prefix is not None:  # the whole prefix as one token
            prefix.extend(str(token).split())
            return
        plan = self._plans.get((rule, name))
        if plan is None:
            plan = self._plans[(rule, name)] = self._plan(rule, name)
        target, regex = plan
        text = str(token).strip()
        if regex is not None:
            m = regex.search(text)
            if m is None:
                return
            text = m.group(1) if m.groups() else m.group(0)
        if target == "time":
            header.time_text = text
        elif target == "utc_offset":
            digits = _NOT_OFFSET.sub("", text) or "0"
            if _OFFSET_HOURS.fullmatch(digits):  # else unreadable (`UTC+²`): no line offset
                header.utc_offset_min = int(digits) * 60
        elif target == "level":
            header.level_word = text.strip("[]:> ")
        elif target == "module":
            header.module = text.strip("[] ")
        elif target == "message":
            header.message = text
        elif target in self.text_fields:
            header.fields[target] = text
        else:
            header.fields[target] = as_number(text)

    def _name_prefix(self, values: list[str], header: Header) -> None:
        for pattern in self.merges:
            values = pattern.sub(_glue, " ".join(values)).split()
        joined = " ".join(values)
        fields, text_fields = header.fields, self.text_fields
        for layout in self.layouts:
            if layout.when is not None and not layout.when.search(joined):
                continue
            n_head, n_tail = len(layout.head), len(layout.tail)
            if len(values) < n_head + n_tail:
                continue
            for name, value in zip(layout.head, values[:n_head], strict=True):
                fields[name] = value if name in text_fields else as_number(value)
            tail_values = values[len(values) - n_tail:] if n_tail else []
            for name, value in zip(layout.tail, tail_values, strict=True):
                fields[name] = value if name in text_fields else as_number(value)
            if layout.middle:
                middle = values[n_head: len(values) - n_tail]
                if middle:
                    header.fields[layout.middle] = " ".join(middle)
            return
        header.fields["prefix"] = joined
