"""Ingest stage: find the anchor phrases of a format in a chunk of bytes.

Two engines, same answer (tested):

* Hyperscan (``hyperscan`` package, when it imports): every phrase, exact, in one pass with
  SIMD literal matching; 2.4-3.4 GB/s with the 77-141 phrases of our formats, where one
  Aho-Corasick automaton of them runs at 0.6 GB/s (measured, docs/PERFORMANCE.md). Each hit
  says whether its phrase keeps a record or only attaches it.
* Aho-Corasick (``ahocorasick_rs``), the fallback: the phrases without their leading
  punctuation (``] ERROR:`` -> ``ERROR:``) in groups small enough for its SIMD prefilter. These
  are candidates only: the scanner confirms each candidate record with the exact phrases.
"""

from __future__ import annotations

import re

import ahocorasick_rs

try:  # an accelerator: wheels exist for the usual Linux and macOS machines
    import hyperscan
except ImportError:  # pragma: no cover - depends on the platform
    hyperscan = None

KEEP, ATTACH, CANDIDATE = 1, 2, 3
FAST_GROUP = 24
_LEADING_PUNCT = re.compile(rb"^[^A-Za-z0-9_]+")


class PhraseSearch:
    """``search(buf)`` -> (offsets, kinds): a byte offset inside each hit and whether it keeps
    its record (KEEP), attaches it (ATTACH), or must be confirmed with :meth:`classify`.
    Lists: hits are few (the phrases name the rare interesting lines)."""

    def __init__(self, keep: tuple[bytes, ...], attach: tuple[bytes, ...],
                 engine: str = "auto") -> None:
        self.phrases = list(dict.fromkeys([*keep, *attach]))
        attach_only = set(attach) - set(keep)
        self._kind = [ATTACH if p in attach_only else KEEP for p in self.phrases]
        if engine == "auto":
            engine = "hyperscan" if hyperscan is not None else "aho-corasick"
        self.engine = engine
        # The exact automaton (classify) and the search engine are built on first use:
        # a forked worker inherits them, a pickled plan rebuilds them.
        self._exact: ahocorasick_rs.BytesAhoCorasick | None = None
        self._engine: object | None = None

    def __getstate__(self) -> dict[str, object]:
        return {"phrases": self.phrases, "_kind": self._kind, "engine": self.engine}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._exact = self._engine = None

    # -- searching ------------------------------------------------------------------------
    def search(self, buf: memoryview | bytes) -> tuple[list[int], list[int]]:
        if not self.phrases:
            return [], []
        if self.engine == "hyperscan":
            return self._search_hyperscan(buf)
        return self._search_grouped(buf)

    def _search_hyperscan(self, buf: memoryview | bytes) -> tuple[list[int], list[int]]:
        if self._engine is None:
            db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            n = len(self.phrases)
            db.compile(expressions=self.phrases, ids=list(range(n)), elements=n,
                       flags=[0] * n, literal=True)
            self._engine = (db, hyperscan.Scratch(db))
        db, scratch = self._engine  # type: ignore[misc]
        ids: list[int] = []
        ends: list[int] = []

        def on_match(pid: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            ids.append(pid)
            ends.append(end - 1)  # the last byte of the phrase: on the phrase's own line

        db.scan(buf, match_event_handler=on_match, scratch=scratch)
        kind = self._kind
        return ends, [kind[i] for i in ids]

    def _search_grouped(self, buf: memoryview | bytes) -> tuple[list[int], list[int]]:
        if self._engine is None:
            fast = list(dict.fromkeys(_LEADING_PUNCT.sub(b"", p) or p for p in self.phrases))
            self._engine = [
                ahocorasick_rs.BytesAhoCorasick(fast[i:i + FAST_GROUP],
                                                matchkind=ahocorasick_rs.MATCHKIND_LEFTMOST_FIRST)
                for i in range(0, len(fast), FAST_GROUP)
            ]
        starts: list[int] = []
        for ac in self._engine:  # type: ignore[attr-defined]
            starts.extend(start for _, start, _ in ac.find_matches_as_indexes(buf))
        return starts, [CANDIDATE] * len(starts)

    # -- confirming -----------------------------------------------------------------------
    def classify(self, text: bytes) -> tuple[bool, bool]:
        """(keep, attach) of one record's text, with the exact phrases."""
        if self._exact is None:
            self._exact = ahocorasick_rs.BytesAhoCorasick(
                self.phrases, implementation=ahocorasick_rs.Implementation.DFA)
        attach = False
        for pid, _, _ in self._exact.find_matches_as_indexes(text, overlapping=True):
            if self._kind[pid] == ATTACH:
                attach = True
            else:
                return True, attach
        return False, attach
