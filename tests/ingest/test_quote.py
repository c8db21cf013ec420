"""Evidence lines are read again from the files: the exact line, wherever the file is.

Kept events do not carry their raw text; a finding's evidence quotes its lines through
``Analysis.quote`` (``ingest/quote.py``), which reads them with stage one's reader so that
line numbers agree: plain, gzip and archived files, CRLF, a last line without a newline, NUL
padding. A file gone since the analysis gives its message instead, never a crash.
"""

from __future__ import annotations

import gzip
import io
import shutil
import tarfile
from pathlib import Path

import pytest

from reformdiag.ingest.discover import discover
from reformdiag.ingest.quote import quote_lines
from reformdiag.pipeline import run

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
FAILING = [p / "bundle" for p in sorted(SAMPLES.iterdir())
           if (p / "bundle").is_dir() and not p.name.startswith("healthy")]
ROUND1 = SAMPLES / "opengauss_reform_round1_fail" / "bundle"


def _source(path: Path):  # type: ignore[no-untyped-def]
    (source,), _ = discover([path])
    return source


def test_plain_lines_crlf_last_line_and_missing_lines(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_bytes(b"one\r\ntwo\nthree\n\nfive without newline")
    got = quote_lines(_source(path), [1, 2, 3, 4, 5, 6, 0, 2])
    assert got == {1: b"one", 2: b"two", 3: b"three", 4: b"", 5: b"five without newline"}


def test_lines_across_many_chunks(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    lines = [f"line {i} ".encode() + b"x" * (i % 300) for i in range(1, 60001)]
    path.write_bytes(b"\n".join(lines) + b"\n")  # ~9 MB: several 4 MiB chunks
    wanted = [1, 17, 29999, 30000, 45123, 60000]
    assert quote_lines(_source(path), wanted) == {n: lines[n - 1] for n in wanted}


def test_gzip_and_archive_members(tmp_path: Path) -> None:
    data = b"first\nsecond\nthird\n"
    gz = tmp_path / "x.log.gz"
    gz.write_bytes(gzip.compress(data))
    assert quote_lines(_source(gz), [2, 3]) == {2: b"second", 3: b"third"}
    tgz = tmp_path / "bundle.tar.gz"
    with tarfile.open(tgz, "w:gz") as tar:
        for name in ("a/one.log", "b/two.log"):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    sources, _ = discover([tgz])
    assert [quote_lines(s, [1]) for s in sources] == [{1: b"first"}, {1: b"first"}]


@pytest.mark.parametrize("bundle", FAILING, ids=lambda p: p.parent.name)
def test_every_quoted_evidence_line_is_the_line_in_the_file(bundle: Path) -> None:
    analysis, diagnosis = run([bundle])
    checked = 0
    for finding in diagnosis.findings:
        for ev in finding.evidence:
            source = analysis.sources.get(ev.file)
            if source is None or source.hops or source.compression:
                continue  # episodes; archived members are checked above
            text = source.path.read_bytes().replace(b"\x00", b"").decode("utf-8", "replace")
            lines = text.split("\n")
            assert ev.text == lines[ev.line - 1].rstrip("\r"), (ev.file, ev.line)
            checked += 1
    assert checked > 0


def test_a_file_gone_since_the_analysis_quotes_the_message(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(ROUND1, bundle)
    from reformdiag.diagnose.catalog import rule_set
    from reformdiag.diagnose.engine import diagnose
    from reformdiag.pipeline import analyse

    analysis = analyse([bundle])
    shutil.rmtree(bundle)
    result = diagnose(analysis.events, analysis.inputs, analysis.cluster, rule_set(None),
                      quote=analysis.quote)
    assert result.findings
    evidence = [ev for f in result.findings for ev in f.evidence]
    assert evidence and all(ev.text for ev in evidence)


def test_a_file_rewritten_since_the_analysis_is_not_misquoted(tmp_path: Path) -> None:
    """Same line numbers, other text (a log rotated over): the evidence keeps the message."""
    bundle = tmp_path / "bundle"
    shutil.copytree(ROUND1, bundle)
    from reformdiag.diagnose.catalog import rule_set
    from reformdiag.diagnose.engine import diagnose
    from reformdiag.pipeline import analyse

    analysis = analyse([bundle])
    for path in bundle.rglob("*"):
        if path.is_file() and not path.name.startswith("cm_ctl"):
            n = path.read_bytes().count(b"\n")
            path.write_text("".join(f"2024-09-19 17:00:00.000 other line {i}\n"
                                    for i in range(n + 1)))
    result = diagnose(analysis.events, analysis.inputs, analysis.cluster, rule_set(None),
                      quote=analysis.quote)
    evidence = [ev for f in result.findings for ev in f.evidence]
    assert evidence and not any("other line" in ev.text for ev in evidence)
