"""Parse stage: name a message by its template, finding candidates with Aho-Corasick."""

from __future__ import annotations

from typing import Any

import ahocorasick_rs

from reformdiag.parse.spec import FormatSpec, Template


class TemplateIndex:
    """Aho-Corasick over the template anchors of one format: message -> candidate templates."""

    def __init__(self, spec: FormatSpec) -> None:
        self.owner: list[list[int]] = []
        phrases: dict[str, int] = {}
        for ti, template in enumerate(spec.templates):
            for anchor in template.anchors:
                if anchor not in phrases:
                    phrases[anchor] = len(phrases)
                    self.owner.append([])
                self.owner[phrases[anchor]].append(ti)
        self.templates = spec.templates
        self.ac = (
            ahocorasick_rs.AhoCorasick(list(phrases), matchkind=ahocorasick_rs.MATCHKIND_STANDARD)
            if phrases
            else None
        )

    def classify(self, message: str) -> tuple[Template | None, dict[str, Any]]:
        if self.ac is None:
            return None, {}
        candidates = sorted(
            {ti for idx, _, _ in self.ac.find_matches_as_indexes(message, overlapping=True)
             for ti in self.owner[idx]}
        )
        for ti in candidates:  # spec order: earlier templates win
            fields = self.templates[ti].match(message)
            if fields is not None:
                return self.templates[ti], fields
        return None, {}
