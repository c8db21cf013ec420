"""Parse stage: the format spec (``grammars/<id>.yaml``) as a checked, compiled object.

A format is data: a Lark grammar for the record structure plus this spec, which says how to
find records in bytes (stage one), which phrases keep a record for the timeline, which message
templates name the event kind, and carries real sample lines that the tests replay.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reformdiag.ingest.grouping import RecordGroup
from reformdiag.model import LEVEL_RANK
from reformdiag.parse.yamlload import definition_error, load_mapping, strip_lines

_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_KIND_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def as_number(text: str) -> int | str:
    """ASCII digits (with an optional minus) become an int, except codes with a leading zero
    (SQLSTATE ``01000``). Other characters ``isdigit`` accepts stay text: ``int`` refuses
    superscripts (``²``, in OCR'd logs), and a field of Arabic-Indic digits is not a number
    a log wrote."""
    digits = text[1:] if text.startswith("-") else text
    if digits.isdigit() and digits.isascii() and len(digits) < 19 \
            and (digits == "0" or not digits.startswith("0")):
        return int(text)
    return text


def normalise_message(text: str) -> str:
    """Collapse whitespace runs: published logs collapse or double the spaces.

    ``str.split()`` and ``\\s`` agree on what whitespace is (``str.isspace``), so this is
    ``re.sub(r"\\s+", " ", text).strip()``, in a third of the time.
    """
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class Template:
    """One message template: the anchor phrases that find it and the regex that names it.

    The regex is compiled when the template is first tried (a run tries a few dozen of the
    ~450 templates; compiling them all cost ~35 ms at every start). ``load_templates``
    compiles every one of them once to check it, and a pickled template carries the source
    only (``parse/defcache.py``).
    """

    kind: str
    anchors: tuple[str, ...]
    regex: str
    flags: int = re.IGNORECASE
    ref: str = ""  # template id in shared/reference (T018) or case id
    level: str | None = None  # force a level (key events carry none)
    fields: dict[str, Any] = field(default_factory=dict)  # constant fields added on match
    sample: str | None = None  # a message this template must name (tested)
    _compiled: list[re.Pattern[str]] = field(default_factory=list, init=False, repr=False,
                                             compare=False)

    @property
    def pattern(self) -> re.Pattern[str]:
        if not self._compiled:
            self._compiled.append(re.compile(self.regex, self.flags))
        return self._compiled[0]

    def __getstate__(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _TEMPLATE_STATE)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(_TEMPLATE_STATE, state, strict=True):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_compiled", [])

    def match(self, message: str) -> dict[str, Any] | None:
        m = (self._compiled[0] if self._compiled else self.pattern).search(message)
        if m is None:
            return None
        out: dict[str, Any] = dict(self.fields)
        for name, value in m.groupdict().items():
            if value is None:
                continue
            out[name] = as_number(value)
        return out


_TEMPLATE_STATE = ("kind", "anchors", "regex", "flags", "ref", "level", "fields", "sample")


@dataclass(frozen=True, slots=True)
class SourceRule:
    """Names the log source of a file of this format (``dms_run_log`` vs ``dss_run_log``)."""

    name: str
    file: str | None = None  # glob on the file name
    module: frozenset[str] = frozenset()  # module field values (CBB logs)

    def applies(self, filename: str, module: str | None) -> bool:
        if self.file is not None and not fnmatch.fnmatch(filename, self.file):
            return False
        if self.module and (module is None or module not in self.module):
            return False
        return True


@dataclass(slots=True)
class FormatSpec:
    """A compiled format spec. See ``schemas/format.schema.json`` for the file layout."""

    id: str
    title: str
    system: str
    path: Path
    grammar: str
    reference: str = ""
    layout: str = "lines"  # lines: records of lines; document: the whole file is one record
    files: tuple[str, ...] = ()
    detect: re.Pattern[str] | None = None
    start_shapes: tuple[bytes, ...] = ()
    continuation: str = "any"  # any | indented
    timestamp_formats: tuple[str, ...] = ()
    tz: str = "bundle"  # bundle | line | utc
    level_map: dict[str, str] = field(default_factory=dict)
    keep: tuple[tuple[str, str], ...] = ()  # (phrase, level) anchors that keep a record
    attach: tuple[str, ...] = ()  # aux-record phrases: kept with, and folded into, the record before
    group: RecordGroup | None = None  # records one call wrote as several lines: joined
    templates: tuple[Template, ...] = ()
    sources: tuple[SourceRule, ...] = ()
    samples: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    _source_memo: dict[tuple[str, str | None], str] = field(default_factory=dict, init=False,
                                                             repr=False, compare=False)

    def source_for(self, filename: str, module: str | None = None) -> str:
        key = (filename, module)
        name = self._source_memo.get(key)
        if name is None:
            name = next((r.name for r in self.sources if r.applies(filename, module)), self.id)
            if len(self._source_memo) < 4096:  # every record of a file asks the same
                self._source_memo[key] = name
        return name

    def source_names(self) -> list[str]:
        names = [r.name for r in self.sources]
        return names or [self.id]

    def level_of(self, word: str) -> str:
        return self.level_map.get(word.rstrip(":>").strip(), "info")

    def anchor_phrases(self) -> list[str]:
        """Every phrase stage one must find for this format (templates, keep and attach)."""
        phrases: list[str] = []
        for t in self.templates:
            phrases.extend(t.anchors)
        phrases.extend(p for p, _ in self.keep)
        phrases.extend(self.attach)
        return phrases


_fail = definition_error


def _compile(path: Path, data: Any, key: str, pattern: str, flags: int = 0) -> re.Pattern[str]:
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise _fail(path, data, key, f"invalid regular expression in {key!r}: {exc}",
                    "patterns use Python re syntax; escape [ ] ( ) . | with a backslash") from exc


def _group(path: Path, data: Any) -> RecordGroup | None:
    """``group: {first: [...], next: [...], same: regex}`` (see ``ingest/grouping.py``)."""
    item = data.get("group")
    if item is None:
        return None
    lists = {}
    for key in ("first", "next"):
        phrases = item.get(key) if isinstance(item, dict) else None
        if not phrases or not all(isinstance(p, str) and p for p in phrases):
            raise _fail(path, data, "group", f"group.{key} needs a list of phrases",
                        "first: phrases of a record that opens a group; next: of one that "
                        "continues it")
        lists[key] = tuple(p.encode("utf-8") for p in phrases)
    same = item.get("same")
    if not isinstance(same, str) or not same:
        raise _fail(path, data, "group", "group.same needs a regex",
                    "its groups must be equal on every record of a group, e.g. the second "
                    "and the thread: '^(\\S+ \\d\\d:\\d\\d:\\d\\d)\\S* (tid=\\d+) '")
    _compile(path, data, "group", same)
    return RecordGroup(lists["first"], lists["next"], re.compile(same.encode("utf-8")))


def _shape(text: str) -> bytes:
    return text.encode("utf-8")


def load_templates(path: Path, data: Any) -> list[Template]:
    """Compile a ``templates:`` list (from a spec or a shared template set)."""
    out: list[Template] = []
    items = data if isinstance(data, list) else []
    for item in items:
        if not isinstance(item, dict) or "kind" not in item or "pattern" not in item:
            raise _fail(path, item, None, "a template needs `kind` and `pattern`",
                        "e.g. {kind: reform_start, anchor: 'reform start', pattern: '...'}")
        kind = str(item["kind"])
        if not _KIND_RE.match(kind):
            raise _fail(path, item, "kind", f"template kind {kind!r} is not snake_case",
                        "kinds are lowercase verb-noun names such as node_disconnect")
        anchors = item.get("anchor", item.get("anchors"))
        if isinstance(anchors, str):
            anchors = [anchors]
        if not anchors or not all(isinstance(a, str) and a for a in anchors):
            raise _fail(path, item, "kind", f"template {kind!r} has no anchor phrase",
                        "give the literal phrase stage one searches for (`anchor:`)")
        level = item.get("level")
        if level is not None and level not in LEVEL_RANK:
            raise _fail(path, item, "level", f"unknown level {level!r}",
                        f"use one of {', '.join(LEVEL_RANK)}")
        template = Template(
            kind=kind,
            anchors=tuple(anchors),
            regex=item["pattern"],
            ref=str(item.get("ref", "")),
            level=level,
            fields=strip_lines(item.get("fields", {})) or {},
            sample=item.get("sample"),
        )
        # Checked here, so a broken pattern stops the run at start-up, not when first tried.
        template._compiled.append(_compile(path, item, "pattern", template.regex, template.flags))
        out.append(template)
    return out


_REQUIRED = ("id", "title", "system", "samples")


def load_spec(path: Path, shared_templates: dict[str, list[Template]]) -> FormatSpec:
    """Load and check one format spec file."""
    data = load_mapping(path, _REQUIRED, "format spec",
                        "see schemas/format.schema.json for the spec layout")
    fmt_id = str(data["id"])
    if fmt_id != path.stem or not _ID_RE.match(fmt_id):
        raise _fail(path, data, "id", f"format id {fmt_id!r} must equal the file stem "
                    f"{path.stem!r} and be snake_case", "rename the file or the id")
    layout = data.get("layout", "lines")
    if layout not in ("lines", "document"):
        raise _fail(path, data, "layout", f"unknown layout {layout!r}", "use lines or document")
    rs = data.get("record_start", {}) or {}
    shapes = tuple(_shape(s) for s in rs.get("shapes", []))
    if layout == "lines" and not shapes:
        raise _fail(path, data, "record_start", "a line format needs record_start.shapes",
                    "shapes are checked at every line start: # digit, ? any byte, else literal")
    continuation = data.get("continuation", "any")
    if continuation not in ("any", "indented"):
        raise _fail(path, data, "continuation", f"unknown continuation {continuation!r}",
                    "use any (every other line continues) or indented (TAB or space first)")
    ts = data.get("timestamp", {}) or {}
    tz = str(ts.get("tz", "bundle"))
    if tz not in ("bundle", "line", "utc"):
        raise _fail(path, ts, "tz", f"unknown tz {tz!r}", "use bundle, line or utc")
    level_map = {str(k): str(v) for k, v in strip_lines(data.get("level_map", {}) or {}).items()}
    for word, level in level_map.items():
        if level not in LEVEL_RANK and level != "aux":
            raise _fail(path, data, "level_map", f"level_map maps {word!r} to unknown {level!r}",
                        f"use one of {', '.join(LEVEL_RANK)} or aux")
    keep = []
    for item in data.get("keep", []) or []:
        keep.append((str(item["phrase"]), str(item.get("level", "warning"))))
    templates = load_templates(path, data.get("templates", []) or [])
    for name in data.get("include_templates", []) or []:
        if name not in shared_templates:
            raise _fail(path, data, "include_templates", f"unknown template set {name!r}",
                        f"known sets: {', '.join(sorted(shared_templates)) or 'none'}")
        templates.extend(shared_templates[name])
    sources = []
    for item in data.get("sources", []) or []:
        sources.append(SourceRule(name=str(item["name"]), file=item.get("file"),
                                  module=frozenset(item.get("module", []) or [])))
    samples = strip_lines(data.get("samples", []))
    if not samples:
        raise _fail(path, data, "samples", "a format needs real sample lines",
                    "copy 5-20 lines from shared/reference into samples:")
    return FormatSpec(
        id=fmt_id,
        title=str(data["title"]),
        system=str(data["system"]),
        path=path,
        grammar=str(data.get("grammar", fmt_id)),
        reference=str(data.get("reference", "")),
        layout=layout,
        files=tuple(data.get("files", []) or []),
        detect=_compile(path, data, "detect", data["detect"], re.MULTILINE)
        if data.get("detect") else None,
        start_shapes=shapes,
        continuation=continuation,
        timestamp_formats=tuple(ts.get("formats", ["%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"])),
        tz=tz,
        level_map=level_map,
        keep=tuple(keep),
        attach=tuple(str(a) for a in data.get("attach", []) or []),
        group=_group(path, data),
        templates=tuple(templates),
        sources=tuple(sources),
        samples=samples,
        rejects=strip_lines(data.get("rejects", []) or []),
    )
