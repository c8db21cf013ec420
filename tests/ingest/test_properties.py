"""Property tests that try to break ingest: random bytes, random truncations, random
interleavings of the formats' own sample lines. Whatever comes in: no exception escapes, every
line of every file is accounted for (lines == records + continuation + unparsed), the result
does not depend on the order the files are given in, and nothing is written anywhere but the
output file."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from reformdiag.cli import app
from reformdiag.parse.registry import default_registry
from reformdiag.pipeline import analyse, run

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "opengauss_reform_round1_fail" / "bundle"
REAL = [SAMPLE / "openGauss111/gausslog/pg_log/dn_6001/postgresql-2024-09-19_171113.log",
        SAMPLE / "openGauss111/gausslog/pg_log/DMS/run/dms.rlog",
        SAMPLE / "openGauss137/gausslog/cm/cm_agent/cm_agent-2024-09-12_154825-current.log",
        SAMPLE / "cm_ctl_query_Cv.txt"]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _spec_lines() -> list[str]:
    """Every sample line of every line format (grammars/*.yaml): real lines of every kind."""
    out = []
    for fmt in default_registry():
        if fmt.spec.layout != "lines":
            continue
        for sample in fmt.spec.samples:
            text = sample.get("line") or sample.get("lines") or ""
            out.extend(ln for ln in str(text).splitlines() if ln.strip())
    return sorted(set(out))


LINES = _spec_lines()


def _accounted(paths: list[Path]) -> None:
    a = analyse(paths)
    for r in a.inputs:
        if r.status == "analysed":
            assert r.lines == r.records + r.continuation + r.unparsed, (r.path, r)
            assert r.records >= 0 and r.continuation >= 0 and r.unparsed >= 0, r
        else:
            assert r.reason, r  # every file that is not analysed says why


class _Box:
    """A fresh folder per example (a pytest fixture would be shared by all of them)."""

    def __enter__(self) -> Path:
        self._dir = tempfile.TemporaryDirectory(prefix="reformdiag-test-")
        return Path(self._dir.name)

    def __exit__(self, *exc: object) -> None:
        self._dir.cleanup()


@SETTINGS
@given(data=st.binary(max_size=20_000), name=st.sampled_from(
    ["x.log", "dms.rlog", "postgresql-2024-09-19_171113.log", "x.gz", "x.tar", "x.zip"]))
def test_random_bytes(data: bytes, name: str) -> None:
    with _Box() as box:
        path = box / name
        path.write_bytes(data)
        _accounted([path])


@SETTINGS
@given(which=st.sampled_from(REAL), cut=st.floats(0, 1), pack=st.sampled_from(
    ["plain", "gz", "tar.gz"]))
def test_random_truncations(which: Path, cut: float, pack: str) -> None:
    data = which.read_bytes()
    if pack == "gz":
        data = gzip.compress(data)
    elif pack == "tar.gz":
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            tar.add(which, "host1/gausslog/" + which.name)
        data = buf.getvalue()
    with _Box() as box:
        path = box / f"cut.{pack}"
        path.write_bytes(data[: int(len(data) * cut)])
        _accounted([path])


files = st.lists(st.lists(st.sampled_from(LINES), min_size=1, max_size=30), min_size=1,
                 max_size=3)


@SETTINGS
@given(contents=files, numbered=st.booleans(), crlf=st.booleans())
def test_interleaved_real_lines(contents: list[list[str]], numbered: bool,
                                crlf: bool) -> None:
    """Lines of several formats mixed in files (a ticket when numbered by an editor)."""
    with _Box() as box:
        for i, lines in enumerate(contents):
            if numbered:
                lines = [f"{3000 + n} {ln}" for n, ln in enumerate(lines)]
            path = box / f"host{i}" / "gausslog" / f"mixed{i}.log"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(("\r\n" if crlf else "\n").join(lines).encode())
        _accounted([box])


def _result(paths: list[Path]) -> tuple[object, ...]:
    analysis, diagnosis = run(paths)
    events = sorted((str(e.time), e.node, e.kind, e.message, e.file, e.line)
                    for e in analysis.events)
    findings = sorted((f.rule, tuple(f.nodes), str(f.start)) for f in diagnosis.all_findings())
    inputs = sorted((r.path, r.status, r.lines, r.events, tuple(r.notes)) for r in analysis.inputs)
    return events, findings, inputs


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order=st.permutations(sorted(p for p in (SAMPLE / "openGauss111").rglob("*")
                                    if p.is_file())
                             + [ROOT / "tests/fixtures/bad_input/truncated.gz",
                                ROOT / "tests/fixtures/bad_input/zip_slip.tar"]))
def test_results_do_not_depend_on_file_order(order: list[Path]) -> None:
    assert _result(list(order)) == _result(sorted(order))


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_nothing_is_written_outside_the_output(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Archives are read as streams: the bundle, the working folder and the temp folder stay
    as they were; only the output file appears."""
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    for name in ("nested_collector.tar.gz", "zip_slip.tar", "truncated.gz"):
        (bundle / name).write_bytes((ROOT / "tests/fixtures/bad_input" / name).read_bytes())
    work, temp = tmp_path / "work", tmp_path / "temp"
    work.mkdir()
    temp.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setenv("TMPDIR", str(temp))
    before = _tree(bundle)
    out = tmp_path / "out" / "report.json"
    out.parent.mkdir()
    for command in (["analyze", str(bundle), "--format", "json", "-o", str(out), "--jobs", "2"],
                    ["timeline", str(bundle), "--all", "--format", "csv", "-o", str(out)]):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 0, result.output
        assert _tree(bundle) == before
        assert os.listdir(work) == []
        # the only thing in the temp folder may be Lark's cache of a compiled grammar
        assert [p for p in os.listdir(temp) if not p.startswith("reformdiag-")] == []
        assert os.listdir(out.parent) == ["report.json"]
