"""Stage one's line pass: the compiled loop and the numpy fallback give the same line table
(record starts, orphans, counts) as a plain reading of the lines, and the same analysis of
every sample."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reformdiag.ingest import lines as lines_module
from reformdiag.ingest.lines import BEFORE_FIRST_RECORD, NO_PREFIX, LinePass, LineTable, compiled_available
from reformdiag.ingest.scan import ScanPlan, scan
from reformdiag.ingest.shapes import StartShapes
from reformdiag.pipeline import Options, analyse
from tests.ingest.test_scan import CM, PG, _summary
from tests.ingest.test_scan import LINES as SCAN_LINES
from tests.ingest.test_shapes import LINES, SHAPES, _reference

ROOT = Path(__file__).resolve().parents[2]
BUNDLES = sorted(p / "bundle" for p in (ROOT / "samples").iterdir() if (p / "bundle").is_dir())
WAYS = ["numpy", pytest.param("compiled", marks=pytest.mark.skipif(
    not compiled_available(), reason="the compiled line pass was not built"))]
# a shape longer than 64 bytes is compared byte by byte in the compiled loop
LONG_SHAPE = (b"####-##-## ##:##:## " + b"?" * 40 + b" [long shape]",)


def _expected(shapes: tuple[bytes, ...], data: bytes, indented: bool, seen_record: bool,
              long_line: int) -> tuple[object, ...]:
    """The line table read the slow, obvious way (split at \\n only: splitlines would also
    cut at \\r and other separators)."""
    pieces = data.split(b"\n")
    lines = [p + b"\n" for p in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])
    recs, orphans, pos, long_lines = [], [], 0, 0
    for i, line in enumerate(lines):
        content = line[:-1] if line.endswith(b"\n") else line
        long_lines += len(content) > long_line
        if _reference(shapes, line):
            recs.append((pos, i))
            seen_record = True
        else:
            blank = not content
            cont = not indented or blank or content[:1] in (b"\t", b" ")
            if not cont:
                orphans.append((pos, pos + len(line), i, NO_PREFIX))
            elif not seen_record and not blank:
                orphans.append((pos, pos + len(line), i, BEFORE_FIRST_RECORD))
        pos += len(line)
    return (len(data), len(lines), long_lines, [r[0] for r in recs], [r[1] for r in recs],
            [o[0] for o in orphans], [o[1] for o in orphans], [o[2] for o in orphans],
            [o[3] for o in orphans])


def _table(t: LineTable) -> tuple[object, ...]:
    return (t.used, t.lines, t.long_lines, list(t.rec_offsets), list(t.rec_lines),
            list(t.orphan_offsets), list(t.orphan_ends), list(t.orphan_lines),
            list(t.orphan_reasons))


def _check(way: str, shapes: tuple[bytes, ...], data: bytes, offset: int) -> None:
    # ``offset`` bytes before the chunk: the words the compiled loop loads are unaligned
    buf = memoryview(bytearray(b"x" * offset + data))[offset:]
    for indented in (False, True):
        for seen in (False, True):
            got = LinePass(StartShapes(shapes), indented, way).run(buf, seen)
            assert _table(got) == _expected(shapes, data, indented, seen, lines_module.LONG_LINE)


LINE = st.one_of(st.sampled_from([*LINES, b"\r", b"  \t", LONG_SHAPE[0][:70] + b"x"]),
                 st.binary(max_size=40).filter(lambda b: b"\n" not in b))


@pytest.mark.parametrize("way", WAYS)
@settings(max_examples=300, deadline=None)
@given(shapes=st.sampled_from([*SHAPES, LONG_SHAPE, ()]), lines=st.lists(LINE, max_size=30),
       end_newline=st.booleans(), offset=st.integers(0, 7))
def test_line_pass_agrees_with_a_plain_reading(way: str, shapes: tuple[bytes, ...],
                                               lines: list[bytes], end_newline: bool,
                                               offset: int) -> None:
    data = b"\n".join(lines) + (b"\n" if end_newline and lines else b"")
    _check(way, shapes, data, offset)


@pytest.mark.parametrize("way", WAYS)
def test_edges(way: str) -> None:
    shapes = (b"####-##-## ##:##:##",)
    for data in (b"", b"\n", b"\n\n", b"x", b"2024-01-01 00:00:00", b"2024-01-01 00:00:0\n",
                 b"2024-01-01 00:00:00\n" * 40, b"\t\n \nx\n" * 7, b"\n" * 33):
        _check(way, shapes, data, 3)
    # each line alone, last in the buffer: fewer bytes than the shape's words to load
    for some in [*SHAPES, LONG_SHAPE]:
        for line in LINES:
            for data in (line, line + b"\n", b"\n" + line):
                _check(way, some, data, 1)


@pytest.mark.skipif(not compiled_available(), reason="the compiled line pass was not built")
def test_a_large_chunk_with_long_and_short_lines() -> None:
    """Many lines (the compiled loop grows its arrays) of every length around the 16-byte
    blocks it reads and the 8-byte words of the shape."""
    rng = np.random.default_rng(7)
    stamp = b"2024-09-19 17:03:20.615 openGauss111 LOG:  x"
    lines = [stamp[: int(n)] if n < len(stamp) else stamp + b"y" * int(n)
             for n in rng.integers(0, 90, size=5000)]
    data = b"\n".join(lines) + b"\n"
    for way in ("compiled", "numpy"):
        _check(way, (b"####-##-## ##:##:##",), data, 5)


@pytest.mark.parametrize("way", WAYS)
def test_long_lines_are_counted(way: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lines_module, "LONG_LINE", 10)
    _check(way, (b"####-##-## ##:##:##",), b"x" * 10 + b"\n" + b"y" * 11 + b"\n\n" + b"z" * 12, 0)


def test_the_compiled_pass_is_built_where_required() -> None:
    """CI builds with REFORMDIAG_REQUIRE_COMPILED=1: the fallback must not hide a broken build."""
    if os.environ.get("REFORMDIAG_REQUIRE_COMPILED") != "1":
        pytest.skip("REFORMDIAG_REQUIRE_COMPILED is not set")
    assert compiled_available()


def _key(options: Options, bundle: Path) -> object:
    a = analyse([bundle], options)
    return ([(e.file, e.line, e.kind, e.message, e.level, e.line_count) for e in a.events],
            [(r.path, r.lines, r.records, r.continuation, r.unparsed, r.events,
              [(u.line, u.reason) for u in r.unparsed_lines]) for r in a.inputs])


@pytest.mark.skipif(not compiled_available(), reason="the compiled line pass was not built")
@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda p: p.parent.name)
def test_both_ways_give_the_same_analysis(bundle: Path) -> None:
    assert _key(Options(line_pass="compiled"), bundle) == _key(Options(line_pass="numpy"), bundle)


@pytest.mark.parametrize("way", WAYS)
@settings(max_examples=150, deadline=None)
@given(lines=st.lists(st.sampled_from(SCAN_LINES), max_size=40), per_pass=st.integers(1, 5),
       end_newline=st.booleans())
def test_a_chunk_of_many_lines_takes_several_passes_with_the_same_result(
        way: str, lines: list[bytes], per_pass: int, end_newline: bool) -> None:
    """A pass stops after MAX_LINES lines (bounded arrays); the scan goes on from there."""
    data = b"\n".join(lines) + (b"\n" if end_newline and lines else b"")
    for base in (PG, CM):
        plan = ScanPlan(base.shapes, base.continuation, base.keep, base.attach, line_pass=way)
        whole = _summary(plan, [data] if data else [])
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(lines_module, "MAX_LINES", per_pass)
            assert _summary(plan, [data] if data else []) == whole


def test_a_chunk_of_blank_lines_stays_small() -> None:
    """4 MiB of blank lines: every pass holds MAX_LINES lines, not the chunk's 4 million."""
    seen = []
    plan = ScanPlan(PG.shapes, PG.continuation, PG.keep, PG.attach)
    real = plan.lines.run

    def run(*args: object, **kwargs: object) -> LineTable:
        out = real(*args, **kwargs)  # type: ignore[arg-type]
        seen.append(out.lines)
        return out

    plan.lines.run = run  # type: ignore[method-assign]
    result = scan([b"2024-01-01 00:00:00 x\n" + b"\n" * (4 << 20)], plan)
    assert result.lines == (4 << 20) + 1 and result.continuation == 4 << 20
    assert max(seen) == lines_module.MAX_LINES and len(seen) == -(-result.lines // max(seen))
