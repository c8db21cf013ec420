"""Diagnose stage: load the rule set checked against the formats and episode kinds."""

from __future__ import annotations

from pathlib import Path

from reformdiag.diagnose.rules import Rule, load_rules
from reformdiag.parse.registry import Registry, default_registry

EPISODE_KINDS = {"first_round_reform", "reform_round", "failover_attempt", "failover_recovery",
                 "switchover", "kick_out", "role_snapshot", "primary_overlap", "rhb_matrix"}
DOCUMENT_KINDS = {"cm_ctl_query", "cm_dn_state", "cm_cluster_state", "cm_cms_state",
                  "cm_resource_state", "cm_ctl_unreachable", "cm_ctl_note", "cm_row", "cm_row_unreadable"}


def known_kinds(registry: Registry) -> set[str]:
    kinds = {"log"} | EPISODE_KINDS | DOCUMENT_KINDS
    for fmt in registry:
        kinds.update(t.kind for t in fmt.spec.templates)
    return kinds


def known_sources(registry: Registry) -> set[str]:
    return set(registry.source_names()) | {"episode"}


def rule_set(extra: list[Path] | None = None, registry: Registry | None = None) -> list[Rule]:
    registry = registry or default_registry()
    return load_rules(extra, known_sources(registry), known_kinds(registry))
