"""Never crash on a log: damaged copies of the sample bundles go through the analysis, every
report format and ``timeline --all``; damaged archives of them through the analysis. Each
file may be reported as it is, never as an internal error, and the run never stops.

A larger run of the same mutations (1,420 bundles, 750 archives) found the crashes fixed in
the third performance session (digit look-alikes, times off the calendar's edges, forged
archive dates); this keeps a small one in every test run.
"""

from __future__ import annotations

import io
import re
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from reformdiag.diagnose.catalog import rule_set
from reformdiag.pipeline import Options, run, stream_all
from reformdiag.report.render import render_document
from reformdiag.report.terminal import render_terminal

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted((ROOT / "samples").glob("*/bundle"))
JUNK = ["²", "①", "٣", "\x00", "\ufffd", "é", " ", "\t", "|", "[", "]", "(", ")", ":", "-",
        "=", "0", "\n", "\r", "dn_", "UTC+", "tid=", "{{ x }}", "<script>", "&", "#", "'",
        "1970-01-01 08:00:00", "0001-01-01 00:00:00", "9999-12-31 23:59:59", "nan"]
NUMBERS = ["999999999999999999", "0", "-1", "00", "-999999999999999999", "4294967296"]
EDGES = ["0001-01-01 00:00:00", "9999-12-31 23:59:59", "1970-01-01 00:00:00"]
_STAMP = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d")
FORMATS = ("json", "markdown", "html", "junit", "sarif")
pytestmark = pytest.mark.slow


def _mutate(text: str, draw: Any) -> str:
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 8))):
        i = draw(st.integers(0, len(lines) - 1))
        line, op = lines[i], draw(st.sampled_from(["junk", "cut", "twice", "number", "swap",
                                                   "long", "lookalike", "edge time"]))
        digits = [k for k, c in enumerate(line) if c.isascii() and c.isdigit()]
        stamp = _STAMP.search(line)
        if op == "lookalike" and digits:  # OCR: a digit int() refuses
            k = digits[draw(st.integers(0, len(digits) - 1))]
            lines[i] = line[:k] + draw(st.sampled_from("²³①٣")) + line[k + 1:]
        elif op == "edge time" and stamp:  # a zeroed or maximal clock
            lines[i] = line[:stamp.start()] + draw(st.sampled_from(EDGES)) + line[stamp.end():]
        elif op == "junk":
            j = draw(st.integers(0, len(line)))
            lines[i] = line[:j] + draw(st.sampled_from(JUNK)) + line[j + draw(st.integers(0, 2)):]
        elif op == "cut":
            lines[i] = line[:draw(st.integers(0, len(line)))]
        elif op == "twice":
            lines.insert(i, line)
        elif op == "number" and re.search(r"\d+", line):
            runs = list(re.finditer(r"\d+", line))
            m = runs[draw(st.integers(0, len(runs) - 1))]
            lines[i] = line[:m.start()] + draw(st.sampled_from(NUMBERS)) + line[m.end():]
        elif op == "swap":
            k = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[k] = lines[k], lines[i]
        elif op == "long":
            lines[i] = line * draw(st.integers(2, 40))
    return "\n".join(lines)


@st.composite
def damaged_bundle(draw: Any) -> tuple[Path, dict[str, str]]:
    """A sample bundle and new texts for one to three of its files (relative path -> text)."""
    bundle = draw(st.sampled_from(SAMPLES))
    files = sorted(p for p in bundle.rglob("*") if p.is_file())
    chosen = draw(st.lists(st.sampled_from(files), min_size=1, max_size=3, unique=True))
    return bundle, {str(p.relative_to(bundle)): _mutate(p.read_text(encoding="utf-8"), draw)
                    for p in chosen}


def _no_internal_error(analysis: Any) -> None:
    broken = [(r.path, r.reason) for r in analysis.inputs if "internal error" in (r.reason or "")]
    assert not broken, broken


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged_bundle())
def test_a_damaged_bundle_is_analysed_reported_and_streamed(case: tuple[Path, dict[str, str]]
                                                            ) -> None:
    bundle, texts = case
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "bundle"
        shutil.copytree(bundle, copy)
        for name, text in texts.items():
            (copy / name).write_text(text, encoding="utf-8")
        analysis, diagnosis = run([copy], Options(jobs=1))
        _no_internal_error(analysis)
        for fmt in FORMATS:
            assert render_document(fmt, analysis, diagnosis, [str(copy)], rule_set())
        render_terminal(analysis, Console(file=io.StringIO(), width=100), diagnosis)
        _, stream = stream_all([copy], Options(jobs=1))
        assert sum(1 for _ in stream) >= 0


def _archive(bundle: Path, kind: str) -> bytes:
    out = io.BytesIO()
    if kind == "zip":
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for p in sorted(bundle.rglob("*")):
                if p.is_file():
                    z.write(p, f"bundle/{p.relative_to(bundle)}")
    else:
        with tarfile.open(fileobj=out, mode={"tar": "w", "tar.gz": "w:gz", "tar.xz": "w:xz"}[kind]
                          ) as tar:
            tar.add(bundle, arcname="bundle")
    return out.getvalue()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bundle=st.sampled_from(SAMPLES), kind=st.sampled_from(["tar", "tar.gz", "tar.xz", "zip"]),
       damage=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255),
                                 st.sampled_from(["set", "drop", "insert"])),
                       min_size=1, max_size=6),
       cut=st.one_of(st.none(), st.floats(0, 1, exclude_max=True)))
def test_a_damaged_archive_is_analysed_as_far_as_it_reads(
        bundle: Path, kind: str, damage: list[tuple[float, int, str]], cut: float | None) -> None:
    data = bytearray(_archive(bundle, kind))
    for where, byte, op in damage:
        i = int(where * len(data))
        if op == "set":
            data[i] = byte
        elif op == "drop":
            del data[i:i + 1 + byte % 64]
        else:
            data[i:i] = bytes([byte]) * (1 + byte % 16)
    if cut is not None:
        del data[int(cut * len(data)):]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / f"bundle.{kind}").write_bytes(bytes(data))
        analysis, _ = run([Path(tmp)], Options(jobs=1))
        _no_internal_error(analysis)
