"""Parse stage: the format registry. Loads every ``grammars/<id>.yaml`` with its Lark grammar.

Grammars are compiled lazily (a run that finds no CM log never builds the CM parser) and once
per process. Shared message-template sets live in ``grammars/templates/<set>.yaml``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from lark import Lark
from lark.exceptions import LarkError

from reformdiag.errors import DefinitionError, ErrorLocation
from reformdiag.ingest.sniff import Candidate
from reformdiag.parse.classify import TemplateIndex
from reformdiag.parse.spec import FormatSpec, Template, load_spec, load_templates
from reformdiag.parse.transform import SpecTransformer
from reformdiag.parse.yamlload import load_yaml
from reformdiag.resources import grammars_dir


@dataclass
class LoadedFormat:
    """A format spec with its compiled grammar and transformer."""

    spec: FormatSpec
    raw: dict[str, Any]
    grammar_dir: Path
    strict: bool = False
    _document: Callable[..., Any] | None = field(default=None, repr=False)

    @property
    def id(self) -> str:
        return self.spec.id

    @cached_property
    def parser(self) -> Lark:
        path = self.grammar_dir / f"{self.spec.grammar}.lark"
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise DefinitionError(f"grammar file missing for format {self.id!r}",
                                  ErrorLocation(str(path)),
                                  "each spec needs grammars/<grammar>.lark") from exc
        try:
            # Building a grammar costs ~0.3 s; a cached one loads in milliseconds. The cache
            # file is keyed by the grammar and every file it may import (Lark's own key
            # ignores imported grammars), so an edited rd_terminals.lark is never stale.
            return Lark(text, parser="lalr", import_paths=[str(self.grammar_dir)],
                        propagate_positions=self.spec.layout == "document",
                        strict=self.strict, cache=False if self.strict else self._cache_file(text))
        except LarkError as exc:
            raise DefinitionError(f"grammar {path.name} does not build: {exc}",
                                  ErrorLocation(str(path)),
                                  "the grammar must be LALR(1) without collisions") from exc

    def _cache_file(self, text: str) -> str:
        import hashlib
        import tempfile

        import lark

        digest = hashlib.sha256(text.encode())
        for dep in sorted(self.grammar_dir.glob("*.lark")):
            digest.update(dep.read_bytes())
        digest.update(lark.__version__.encode())
        return str(Path(tempfile.gettempdir()) / f"reformdiag-{self.id}-{digest.hexdigest()[:16]}.lark")

    @cached_property
    def transformer(self) -> SpecTransformer:
        return SpecTransformer(self.raw)

    @cached_property
    def templates(self) -> TemplateIndex:
        return TemplateIndex(self.spec)

    @property
    def document(self) -> Callable[..., Any] | None:
        """Plugin that turns a whole-document tree into events (layout: document)."""
        if self.spec.layout != "document":
            return None
        if self._document is None:
            from reformdiag.parse.documents import DOCUMENT_TRANSFORMERS

            name = str(self.raw.get("transformer", self.id))
            if name not in DOCUMENT_TRANSFORMERS:
                raise DefinitionError(f"unknown document transformer {name!r}",
                                      ErrorLocation(str(self.spec.path)),
                                      f"known: {', '.join(sorted(DOCUMENT_TRANSFORMERS))}")
            self._document = DOCUMENT_TRANSFORMERS[name]
        return self._document


class Registry:
    """Every known format, in a stable order (file name order)."""

    def __init__(self, formats: list[LoadedFormat]) -> None:
        self.formats = formats
        self.by_id = {f.id: f for f in formats}

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.formats)

    def get(self, fmt_id: str) -> LoadedFormat:
        return self.by_id[fmt_id]

    def sniff_candidates(self) -> list[Candidate]:
        """What content sniffing needs of every format that can be detected."""
        return [Candidate(f.id, f.spec.detect, f.spec.files, f.spec.layout == "document")
                for f in self.formats if f.spec.detect]

    def source_names(self) -> dict[str, str]:
        """Map every source name (``dms_run_log``) to its format id (``cbb_run_log``)."""
        out: dict[str, str] = {}
        for f in self.formats:
            for name in f.spec.source_names():
                out[name] = f.id
        return out


def _load_template_sets(folder: Path) -> dict[str, list[Template]]:
    sets: dict[str, list[Template]] = {}
    if not folder.is_dir():
        return sets
    for path in sorted(folder.glob("*.yaml")):
        data = load_yaml(path)
        if not isinstance(data, dict) or "templates" not in data:
            raise DefinitionError("a template set needs a `templates:` list",
                                  ErrorLocation(str(path), 1), "see grammars/templates/")
        sets[path.stem] = load_templates(path, data["templates"])
    return sets


def load_registry(folder: Path | None = None, strict: bool = False) -> Registry:
    """Load every format spec of ``folder`` (default: the packaged grammars)."""
    folder = folder or grammars_dir()
    shared = _load_template_sets(folder / "templates")
    formats = []
    for path in sorted(folder.glob("*.yaml")):
        spec = load_spec(path, shared)
        formats.append(LoadedFormat(spec=spec, raw=load_yaml(path), grammar_dir=folder,
                                    strict=strict))
    return Registry(formats)


_DEFAULT: Registry | None = None


def default_registry() -> Registry:
    """The packaged registry, loaded once per process."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = load_registry()
    return _DEFAULT
