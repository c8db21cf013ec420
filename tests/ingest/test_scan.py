"""Stage one: line accounting and kept records do not depend on how the file is chunked."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from reformdiag.ingest.scan import ScanPlan, scan

PG = ScanPlan(shapes=(b"####-##-## ##:##:##",), continuation="indented",
              keep=(b"] WARNING:", b"failover trigger"), attach=(b"] DETAIL:",))
CM = ScanPlan(shapes=(b"####-##-## ##:##:##", b"tid="), continuation="any",
              keep=(b" ERROR: ", b"kick out"))

LINES = [
    b"2024-01-01 00:00:00.001 a b [BACKEND] LOG:  hello",
    b"\tcontinued",
    b"2024-01-01 00:00:01.001 a b [BACKEND] WARNING:  bad thing",
    b"2024-01-01 00:00:01.002 a b [BACKEND] DETAIL:  detail of bad",
    b"not indented junk",
    b"2024-01-01 00:00:03.001 a b [DMS] LOG:  [SS failover] failover trigger.",
    b"",
    b"tid=12 X LOG: kick out",
    b"\xff\xfe garbage \x00",
]


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    """Cut at line boundaries only (the reader guarantees it)."""
    lines = data.splitlines(keepends=True)
    out, i = [], 0
    for c in sorted(set(cuts)):
        if i < c <= len(lines):
            out.append(b"".join(lines[i:c]))
            i = c
    out.append(b"".join(lines[i:]))
    return [c for c in out if c]


def _summary(plan: ScanPlan, chunks: list[bytes]) -> tuple[object, ...]:
    r = scan(chunks, plan)
    return (r.lines, r.records, r.continuation, r.unparsed,
            [(k.line, k.text, k.n_lines, k.attach) for k in r.kept])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(LINES), max_size=40), st.lists(st.integers(0, 40), max_size=8),
       st.booleans())
def test_chunking_does_not_change_the_result(lines: list[bytes], cuts: list[int],
                                             trailing_newline: bool) -> None:
    data = b"\n".join(lines) + (b"\n" if trailing_newline and lines else b"")
    for plan in (PG, CM):
        whole = _summary(plan, [data] if data else [])
        parts = _summary(plan, _chunks(data, cuts))
        assert whole == parts
        lines_, records, cont, unparsed, _ = whole
        assert lines_ == records + cont + unparsed
        expected_lines = len(data.splitlines()) if data else 0
        assert lines_ == expected_lines


def test_orphans_are_named() -> None:
    data = b"junk\n\tcont\n2024-01-01 00:00:00.001 a b [BACKEND] LOG:  x\nnot indented\n"
    r = scan([data], PG)
    assert [(line, reason.split(" ")[0]) for line, reason, _ in r.orphans] == [
        (1, "no"), (2, "continuation"), (4, "no")]


def test_attach_follows_a_kept_record_across_chunks() -> None:
    a = b"2024-01-01 00:00:01.001 a b [BACKEND] WARNING:  bad\n"
    b = b"2024-01-01 00:00:01.002 a b [BACKEND] DETAIL:  why\n"
    c = b"2024-01-01 00:00:01.003 a b [BACKEND] LOG:  ok\n"
    for chunks in ([a + b + c], [a, b, c], [a, b + c]):
        kept = scan(chunks, PG).kept
        assert [(k.line, k.attach) for k in kept] == [(1, False), (2, True)]
