"""The two phrase engines of stage one (Hyperscan, Aho-Corasick) keep the same records."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reformdiag.ingest.phrases import ATTACH, KEEP, PhraseSearch
from reformdiag.ingest.scan import ScanPlan, scan
from reformdiag.pipeline import Options, analyse

pytest.importorskip("hyperscan")

ROOT = Path(__file__).resolve().parents[2]
BUNDLES = sorted(p / "bundle" for p in (ROOT / "samples").iterdir() if (p / "bundle").is_dir())
KEEP_PHRASES = (b"] WARNING:", b"failover trigger", b"kick out", b"WARNING")
ATTACH_PHRASES = (b"] DETAIL:",)
LINES = [
    b"2024-01-01 00:00:00.001 a b [BACKEND] LOG:  hello",
    b"\tcontinued with failover trigger inside",
    b"2024-01-01 00:00:01.001 a b [BACKEND] WARNING:  bad thing",
    b"2024-01-01 00:00:01.002 a b [BACKEND] DETAIL:  detail of bad",
    b"2024-01-01 00:00:01.003 a b [BACKEND] DETAIL:  a WARNING too",
    b"not indented junk with kick out",
    b"2024-01-01 00:00:03.001 a b [DMS] LOG:  [SS failover] failover trigger.",
    b"",
    b"tid=12 X LOG: kick out",
    b"\xff\xfe garbage \x00",
]


def _plan(engine: str, continuation: str) -> ScanPlan:
    return ScanPlan(shapes=(b"####-##-## ##:##:##", b"tid="), continuation=continuation,
                    keep=KEEP_PHRASES, attach=ATTACH_PHRASES, engine=engine)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(LINES), max_size=40), st.integers(1, 5))
def test_engines_keep_the_same_records(lines: list[bytes], pieces: int) -> None:
    data = b"".join(line + b"\n" for line in lines)
    cut = [i * len(lines) // pieces for i in range(1, pieces)]
    chunks, last = [], 0
    for c in cut:
        chunks.append(b"".join(line + b"\n" for line in lines[last:c]))
        last = c
    chunks.append(b"".join(line + b"\n" for line in lines[last:]))
    for continuation in ("indented", "any"):
        results = []
        for engine in ("hyperscan", "aho-corasick"):
            r = scan([c for c in chunks if c], _plan(engine, continuation))
            results.append((r.lines, r.records, r.continuation, r.unparsed,
                            [(k.line, k.text, k.n_lines, k.attach) for k in r.kept]))
        assert results[0] == results[1]
        assert results[0][0] == len(data.splitlines())


def test_hyperscan_reports_every_phrase_with_its_kind() -> None:
    search = PhraseSearch(KEEP_PHRASES, ATTACH_PHRASES, engine="hyperscan")
    text = b"x] DETAIL: y] WARNING: z\n"
    offsets, kinds = search.search(text)
    found = sorted(zip(offsets, kinds, strict=True))
    # overlapping hits are all reported: "WARNING" (ends at 20) inside "] WARNING:" (21)
    assert found == [(9, ATTACH), (20, KEEP), (21, KEEP)]


def _key(options: Options, bundle: Path) -> object:
    a = analyse([bundle], options)
    return ([(e.file, e.line, e.kind, e.message, e.level) for e in a.events],
            [(r.path, r.lines, r.records, r.continuation, r.unparsed, r.events) for r in a.inputs])


@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda p: p.parent.name)
def test_engines_give_the_same_analysis(bundle: Path) -> None:
    assert _key(Options(phrase_engine="hyperscan"), bundle) == \
        _key(Options(phrase_engine="aho-corasick"), bundle)
