"""Diagnose stage: the anchor phrases rules add to stage one (``anchors: {format: [..]}``)."""

from __future__ import annotations

from reformdiag.diagnose.rules import Rule


def rule_anchors(rules: list[Rule]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for rule in rules:
        for fmt, phrases in rule.anchors.items():
            out.setdefault(fmt, [])
            out[fmt].extend(p for p in phrases if p not in out[fmt])
    return out
