"""The cluster map's one pass over the events (``_survey``) gathers what the plain reading of
each step would: the same events in the same order, and the same counts in the same order
(``Counter.most_common`` breaks ties by it). Files' events need not come together."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reformdiag.model import Event
from reformdiag.timeline.cluster import _CM_ROWS, _INST_KINDS, _survey, field_roles

FIELD_SETS = [
    {},
    {"app": "dn_6001", "tid": 1},
    {"app": "[unknown]", "inst_id": 0},
    {"inst_id": 2},
    {"origin_host": "host-b", "origin_nodeid": 13},
    {"origin_host": ""},
    {"subject_nodeid": 2, "subject_node": "x"},
    {"subject_host": "host-c", "cm_node": 1},
    {"origin_ndb_node": 2, "subject_ndb_node": 3},
    {"host": "h1", "dn_instance": 6001, "cm_node": 1},
    {"app": 7},
]
KINDS = ["log", "reform_plan", "first_round_reform_failed", "cm_dn_state", "cm_cms_state",
         "rhb_matrix_print"]

EVENT = st.builds(
    lambda file, system, kind, fields: Event(
        source="s", system=system, file=file, line=1, kind=kind, level="info", message="m",
        raw="", fields=dict(fields)),
    st.sampled_from(["a.log", "b.log", "c/d.log"]), st.sampled_from(["opengauss", "ndb"]),
    st.sampled_from(KINDS), st.sampled_from(FIELD_SETS))


def _plain(events: list[Event]) -> dict[str, Any]:
    per_file: Counter[tuple[str, str]] = Counter()
    systems: dict[str, str] = {}
    hosts: dict[str, set[str]] = {}
    for ev in events:
        per_file[ev.file, ev.system] += 1
        systems.setdefault(ev.file, ev.system)
        hosts.setdefault(ev.file, set()).add(str(ev.fields.get("origin_host") or ""))
    app = [ev for ev in events if str(ev.fields.get("app", "")).startswith("dn_")]
    return {
        "per_file": list(per_file.items()), "systems": systems, "origin_hosts": hosts,
        "cm_rows": [ev for ev in events if ev.kind in _CM_ROWS],
        "content": [ev for ev in events if ev.kind in _INST_KINDS or ev in app],
        "origin": [ev for ev in events if any(k.startswith("origin_") for k in ev.fields)],
        "subject": [ev for ev in events if any(k.startswith("subject_") and k != "subject_node"
                                               for k in ev.fields)],
    }


@settings(max_examples=300, deadline=None)
@given(st.lists(EVENT, max_size=40))
def test_the_survey_is_the_plain_reading(events: list[Event]) -> None:
    s = _survey(events)
    want = _plain(events)
    assert list(s.per_file.items()) == want["per_file"]
    assert s.systems == want["systems"] and s.origin_hosts == want["origin_hosts"]
    for name in ("cm_rows", "content", "origin", "subject"):
        assert [id(e) for e in getattr(s, name)] == [id(e) for e in want[name]], name


def test_field_roles_follow_the_keys_not_the_values() -> None:
    roles = field_roles({"origin_host": "", "subject_nodeid": 2, "subject_node": "x",
                         "inst_id": 1})
    assert roles.origin == ("origin_host",) and roles.subject == ("subject_nodeid",)
    assert roles.ids and not field_roles({"tid": 4}).ids
