"""Diagnose stage: load the rule set checked against the formats and episode kinds."""

from __future__ import annotations

from pathlib import Path

from reformdiag.diagnose.rules import Rule, load_rules
from reformdiag.parse.defcache import cached
from reformdiag.parse.registry import Registry, default_registry

EPISODE_KINDS = {"first_round_reform", "reform_round", "failover_attempt", "failover_recovery",
                 "switchover", "kick_out", "role_snapshot", "primary_overlap", "rhb_matrix",
                 # corosync/DLM, NDB, OceanBase (membership_episodes.py)
                 "membership_ring", "member_absence", "stateful_merge", "fencing", "ndb_start",
                 "president_election", "dual_president", "arbitration", "leader_change", "server_lease"}
DOCUMENT_KINDS = {"cm_ctl_query", "cm_dn_state", "cm_cluster_state", "cm_cms_state",
                  "cm_resource_state", "cm_ctl_unreachable", "cm_ctl_note", "cm_row", "cm_row_unreadable",
                  # kinds a document transformer sets when no template names the record
                  "ndb_node_exit", "obclient_statement"}


def known_kinds(registry: Registry) -> set[str]:
    kinds = {"log"} | EPISODE_KINDS | DOCUMENT_KINDS
    for fmt in registry:
        kinds.update(t.kind for t in fmt.spec.templates)
    return kinds


def known_sources(registry: Registry) -> set[str]:
    return set(registry.source_names()) | {"episode"}


_PACKAGED: list[Rule] | None = None


def rule_set(extra: list[Path] | None = None, registry: Registry | None = None,
             fresh: bool = False) -> list[Rule]:
    """The packaged rules (loaded once per process: a batch runs many bundles; and kept
    between runs while no definition changes, ``parse/defcache.py``) plus ``extra`` folders
    (always read afresh: a user may be editing them). ``fresh`` loads and checks every file
    again (``rules check``)."""
    global _PACKAGED
    if registry is default_registry():
        registry = None
    if extra or registry is not None or fresh:
        registry = registry or default_registry()
        return load_rules(extra, known_sources(registry), known_kinds(registry))
    if _PACKAGED is None:
        registry = default_registry()
        _PACKAGED = cached("rules", lambda: load_rules(None, known_sources(registry),
                                                       known_kinds(registry)))
    return list(_PACKAGED)
