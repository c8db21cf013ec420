"""Parse stage: the format registry. Loads every ``grammars/<id>.yaml`` with its Lark grammar.

Grammars are compiled lazily (a run that finds no CM log never builds the CM parser) and once
per process. Shared message-template sets live in ``grammars/templates/<set>.yaml``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
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

    def __getstate__(self) -> dict[str, Any]:
        # The definition only: grammars, transformers and indexes are rebuilt when used.
        return {name: self.__dict__[name] for name in ("spec", "raw", "grammar_dir", "strict")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _document=None)

    @cached_property
    def parser(self) -> Lark:
        return self._build(None)

    @cached_property
    def record_parser(self) -> Lark:
        """The parser of one record of a line format: ``parser``, or the same grammar run by
        lark-cython when it is installed (the same trees from 40-50% less time per record;
        its tokens are not ``lark.Token``, which ``transform.py`` allows for)."""
        plugins = _accelerator() if self.spec.layout == "lines" and not self.strict else None
        return self.parser if plugins is None else self._build(plugins)

    def _build(self, plugins: dict[str, Any] | None) -> Lark:
        path = self.grammar_dir / f"{self.spec.grammar}.lark"
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise DefinitionError(f"grammar file missing for format {self.id!r}",
                                  ErrorLocation(str(path)),
                                  "each spec needs grammars/<grammar>.lark") from exc
        options: dict[str, Any] = {"_plugins": plugins} if plugins else {}
        try:
            # Building a grammar costs ~0.3 s; a cached one loads in milliseconds. The cache
            # file is keyed by the grammar and every file it may import (Lark's own key
            # ignores imported grammars), so an edited rd_terminals.lark is never stale.
            cache = False if self.strict else self._cache_file(text, "-cy" if plugins else "")
            return Lark(text, parser="lalr", import_paths=[str(self.grammar_dir)],
                        propagate_positions=self.spec.layout == "document",
                        strict=self.strict, cache=cache, **options)
        except LarkError as exc:
            raise DefinitionError(f"grammar {path.name} does not build: {exc}",
                                  ErrorLocation(str(path)),
                                  "the grammar must be LALR(1) without collisions") from exc

    def _cache_file(self, text: str, suffix: str = "") -> str | bool:
        import hashlib

        import lark

        from reformdiag.parse.defcache import cache_dir

        # Lark's cache is a pickle: it lives in the user's private folder, never loose in a
        # shared temp dir where anyone could plant one; without that folder, no cache.
        folder = cache_dir()
        if folder is None:
            return False
        digest = hashlib.sha256(text.encode())
        for dep in sorted(self.grammar_dir.glob("*.lark")):
            digest.update(dep.read_bytes())
        digest.update(lark.__version__.encode())
        return str(folder / f"{self.id}-{digest.hexdigest()[:16]}{suffix}.lark")

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


# Set to 1 to parse records with pure-Python Lark even when lark-cython is installed.
PURE_ENV = "REFORMDIAG_PURE_LARK"


@lru_cache(maxsize=1)
def _accelerator() -> dict[str, Any] | None:
    """lark-cython's plugins, if installed (an optional accelerator: see pyproject)."""
    if os.environ.get(PURE_ENV):
        return None
    try:
        import lark_cython
    except ImportError:
        return None
    return dict(lark_cython.plugins)


def lark_accelerated() -> bool:
    """Records go through lark-cython (installed, and not switched off)."""
    return _accelerator() is not None


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
    """The packaged registry, loaded once per process (and kept between runs while no
    definition changes: ``parse/defcache.py``)."""
    global _DEFAULT
    if _DEFAULT is None:
        from reformdiag.parse.defcache import cached

        _DEFAULT = cached("registry", load_registry)
    return _DEFAULT
