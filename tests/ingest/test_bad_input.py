"""Bad input: every problem is one clear line naming the file, and the rest goes on."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import pytest

from reformdiag.pipeline import analyse

GOOD = ("2024-09-19 17:14:12.592 66ebeab1.1 [unknown] 281466178961424 [unknown] 0 "
        "dn_6001_6002_6003 01000  0 [BACKEND] WARNING:  [SS reform][db sync wait] Node:0 "
        "first-round reform failed, shutdown now\n")
DMS = "UTC+8 2024-09-19 17:14:37.354|DMS|3140211|INFO>[mes]: disconnect node 2. [mes_func.c:1954]\n"


@pytest.fixture()
def bundle(tmp_path: Path) -> Path:
    host = tmp_path / "host1" / "gausslog" / "pg_log"
    (host / "dn_6001").mkdir(parents=True)
    (host / "dn_6001" / "postgresql-2024-09-19_170000.log").write_text(GOOD * 3)
    (host / "DMS" / "run").mkdir(parents=True)
    (host / "DMS" / "run" / "dms.rlog").write_text(DMS)
    (tmp_path / "empty.log").write_text("")
    (tmp_path / "core.bin").write_bytes(bytes(range(256)) * 40)
    (tmp_path / "notes.txt").write_text("collected by the on-call engineer\nsee ticket 42\n")
    lines = "".join(GOOD.replace("17:14:12.592", f"17:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}")
                    for i in range(3000))
    data = gzip.compress(lines.encode())
    (tmp_path / "cut.log.gz").write_bytes(data[: len(data) // 2])
    return tmp_path


def test_each_bad_file_is_named_and_the_rest_is_analysed(bundle: Path) -> None:
    a = analyse([bundle])
    status = {r.path: (r.status, r.reason) for r in a.inputs}
    assert status["empty.log"][0] == "empty"
    assert status["core.bin"] == ("not recognised", "binary data, not a text log")
    assert status["notes.txt"][0] == "not recognised"
    good = [r for r in a.inputs if r.status == "analysed"]
    assert {r.format for r in good} >= {"opengauss_pg_log", "dms_run_log"}
    cut = next(r for r in a.inputs if r.path == "cut.log.gz")
    assert cut.status == "analysed" and any("truncated" in n for n in cut.notes), cut
    assert any(e.kind == "first_round_reform_failed" for e in a.events)


def test_unreadable_file_is_reported(bundle: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    path = bundle / "host1" / "gausslog" / "pg_log" / "dn_6001" / "postgresql-2024-09-19_170000.log"
    path.chmod(0)
    a = analyse([bundle])
    assert any(r.status == "error" and "postgresql" in r.path for r in a.inputs)


def test_symlink_loop_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "loop").symlink_to(tmp_path / "a")
    (tmp_path / "a" / "x.log").write_text(GOOD)
    a = analyse([tmp_path])
    assert any("loop" in r.reason for r in a.inputs if r.status == "error")
    assert any(r.status == "analysed" for r in a.inputs)


def test_huge_line_is_truncated_not_buffered(tmp_path: Path) -> None:
    path = tmp_path / "postgresql.log"
    with path.open("w") as handle:
        handle.write(GOOD)
        # longer than a read block: never buffered whole
        handle.write("2024-09-19 17:14:13.000 x y [BACKEND] LOG:  " + "A" * (20 * 1024 * 1024) + "\n")
        handle.write(GOOD)
    a = analyse([path])
    (r,) = a.inputs
    assert r.lines == 3 and r.lines == r.records + r.continuation + r.unparsed
    assert any("truncated" in n for n in r.notes)


def test_gb18030_lines_are_decoded(tmp_path: Path) -> None:
    text = GOOD.replace("shutdown now", "shutdown now 节点退出")
    (tmp_path / "postgresql.log").write_bytes(text.encode("gb18030"))
    a = analyse([tmp_path])
    assert a.events and "节点退出" in a.events[0].message
    assert any("GB18030" in n for r in a.inputs for n in r.notes)


def test_a_latin1_name_in_a_utf8_log_keeps_every_letter() -> None:
    """A client's Latin-1 table name read as GB18030 lost the letter after the accented one
    (``clientes_año`` -> ``clientes_a`` and one Chinese character)."""
    a = analyse([CORPUS / "latin1.log"])
    error = next(e for e in a.events if e.level == "error")
    assert 'relation "clientes_año" does not exist' in error.message
    assert any("Latin-1" in n for r in a.inputs for n in r.notes)


# ---- the hostile corpus (tests/fixtures/bad_input, made by tests/fixtures/make_bad_input.py) --
ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fixtures" / "bad_input"
SAMPLE = ROOT / "samples" / "opengauss_reform_round1_fail"


@pytest.mark.parametrize("name,status,says", [
    ("garbage.bin", "not recognised", "binary data, not a text log"),
    ("truncated.gz", "analysed", "compressed stream is truncated: analysed the 40 lines before it"),
    ("latin1.log", "analysed", "not valid UTF-8: lines that are not UTF-8 read as Latin-1"),
    ("gb18030_postgresql-2024-09-19_171113.log", "analysed",
     "not valid UTF-8: lines read as GB18030"),
    ("nested_collector.tar.gz", "analysed", None),
])
def test_corpus_file_alone(name: str, status: str, says: str | None) -> None:
    a = analyse([CORPUS / name])
    assert a.inputs and {r.status for r in a.inputs} == {status}
    for r in a.inputs:
        assert r.lines == r.records + r.continuation + r.unparsed, r.path
        if says is not None:
            assert says in (r.reason, *r.notes), (r.reason, r.notes)


def test_nul_bytes_and_crlf_and_a_cut_last_line(tmp_path: Path) -> None:
    """A crash left zeros before the restart's lines; the file was copied from Windows (CRLF)
    and stopped in the middle of its last line."""
    lines = (SAMPLE / "bundle/openGauss111/gausslog/pg_log/dn_6001/"
             "postgresql-2024-09-19_171113.log").read_bytes().splitlines()
    data = b"\r\n".join(lines[:52]) + b"\r\n" + bytes(4096) + b"\r\n".join(lines[52:]) + b"\r\n"
    (tmp_path / "postgresql.log").write_bytes(data[:-40])
    (r,) = analyse([tmp_path]).inputs
    assert r.status == "analysed" and r.lines == len(lines)
    assert r.lines == r.records + r.continuation + r.unparsed and r.unparsed == 0
    assert "4096 NUL byte(s) removed" in r.notes
    a = analyse([tmp_path])
    failed = next(e for e in a.events if e.kind == "first_round_reform_failed")
    assert not failed.message.endswith("\r")


def test_every_file_problem_is_one_line_and_the_exit_code_says_if_anything_was_read(
        tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from reformdiag.cli import app

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "loop").symlink_to(tmp_path / "a")
    (tmp_path / "core.bin").write_bytes((CORPUS / "garbage.bin").read_bytes())
    (tmp_path / "empty.log").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("collected by the on-call engineer\n")
    shutil.copy(CORPUS / "zip_slip.tar", tmp_path / "evil.tar")
    (tmp_path / "broken.tgz").write_bytes(b"\x1f\x8b\x08\x00" + bytes(range(200)))
    result = CliRunner().invoke(app, ["analyze", str(tmp_path)])
    out = result.stdout
    assert "Traceback" not in out
    for what in ("core.bin: not recognised: binary data", "empty.log: empty",
                 "notes.txt: not recognised", "a/loop: error: symbolic link loop",
                 "evil.tar!/etc/cron.d/evil: error: entry name '/etc/cron.d/evil' is an "
                 "absolute path, refused", "broken.tgz: error: compressed stream is corrupt"):
        assert what in " ".join(out.split()), (what, out)
    assert result.exit_code == 0  # evil.tar's good entry was analysed
    (tmp_path / "evil.tar").unlink()
    result = CliRunner().invoke(app, ["analyze", str(tmp_path)])
    assert result.exit_code == 2, result.output  # nothing at all could be analysed
    assert "Traceback" not in result.output


def test_a_bug_while_reading_one_file_costs_that_file_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reformdiag import pipeline

    shutil.copy(SAMPLE / "bundle/openGauss111/gausslog/pg_log/DMS/run/dms.rlog", tmp_path)
    shutil.copy(CORPUS / "gb18030_postgresql-2024-09-19_171113.log", tmp_path)
    real = pipeline.FileAnalyser._lines

    def broken(self, fmt, source, report):  # type: ignore[no-untyped-def]
        if fmt.id == "cbb_run_log":
            raise RuntimeError("boom")
        return real(self, fmt, source, report)

    monkeypatch.setattr(pipeline.FileAnalyser, "_lines", broken)
    a = analyse([tmp_path])
    bad = next(r for r in a.inputs if r.path == "dms.rlog")
    assert (bad.status, bad.reason) == ("error", "internal error while reading (RuntimeError: boom)")
    assert bad.notes == []  # the traceback only with --debug
    assert any(r.status == "analysed" for r in a.inputs)
    a = analyse([tmp_path], pipeline.Options(debug=True))
    bad = next(r for r in a.inputs if r.path == "dms.rlog")
    assert "Traceback" in bad.notes[0] and "RuntimeError: boom" in bad.notes[0]


def _findings(analysis, diagnosis) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    return sorted((f.rule, tuple(sorted(f.nodes)), f.start, f.end,
                   tuple(sorted((k, v.get("value")) for k, v in f.figures.items())),
                   tuple(sorted(s.rule for s in f.symptoms)))
                  for f in diagnosis.findings)


def test_done_when_bundle(tmp_path: Path) -> None:
    """Issue 5: one good host tarball, an archive with a ``../`` entry, a truncated gzip, a
    GB18030 pg_log and a binary file: the diagnosis of the good data (OG-C01, as for the
    sample bundle) and one clear line for each bad item."""
    import io
    import tarfile

    from reformdiag.pipeline import run

    bundle = SAMPLE / "bundle"
    pg135 = "openGauss135/gausslog/pg_log/dn_6002/postgresql-2024-09-19_165231.log"
    agent135 = "openGauss135/gausslog/cm/cm_agent/cm_agent-2024-09-12_154825-current.log"
    got = tmp_path / "ticket-4711"
    got.mkdir()
    # the collector's tarball of per-host tarballs, without what came separately
    hosts = io.BytesIO()
    with tarfile.open(fileobj=hosts, mode="w:gz") as outer:
        for host in ("openGauss111", "openGauss135", "openGauss137"):
            inner = io.BytesIO()
            with tarfile.open(fileobj=inner, mode="w:gz") as tar:
                for path in sorted(p for p in (bundle / host).rglob("*") if p.is_file()):
                    rel = path.relative_to(bundle).as_posix()
                    if rel not in (pg135, agent135):
                        tar.add(path, rel)
            info = tarfile.TarInfo(f"collector/{host}.tar.gz")
            info.size = len(inner.getvalue())
            outer.addfile(info, io.BytesIO(inner.getvalue()))
        outer.add(bundle / "cm_ctl_query_Cv.txt", "collector/cm_ctl_query_Cv.txt")
    (got / "collector.tar.gz").write_bytes(hosts.getvalue())
    # an archive someone made with a path that climbs out
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w") as tar:
        data = (bundle / pg135).read_bytes()[:300]
        info = tarfile.TarInfo("../../../etc/cron.d/reformdiag")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    (got / "extra.tar").write_bytes(evil.getvalue())
    # a rotated cm_agent log, gzipped, copied only half way
    packed = gzip.compress((bundle / agent135).read_bytes())
    (got / agent135).parent.mkdir(parents=True)
    (got / agent135.replace("-current.log", ".log.gz")).write_bytes(packed[: len(packed) // 2])
    # the pg_log of a host with a Chinese locale
    zh = (bundle / pg135).read_text().replace("NUMA policy in the system is set to automatic.",
                                              "系统中的NUMA策略设置为自动。")
    (got / pg135).parent.mkdir(parents=True)
    (got / pg135).write_bytes(zh.encode("gb18030"))
    (got / "core.1234").write_bytes((CORPUS / "garbage.bin").read_bytes())

    analysis, diagnosis = run([got])
    expected = run([bundle])
    assert _findings(analysis, diagnosis) == _findings(*expected)
    assert [f.rule for f in diagnosis.findings] == ["OG001"]
    lines = sorted(
        [f"{r.path}: {r.status}: {r.reason}" for r in analysis.not_analysed]
        + [f"{r.path}: {n}" for r in analysis.analysed for n in r.notes])
    assert lines == sorted([
        "core.1234: not recognised: binary data, not a text log",
        "extra.tar!/../../../etc/cron.d/reformdiag: error: entry name climbs out of the bundle "
        "with '..', refused",
        "openGauss135/gausslog/cm/cm_agent/cm_agent-2024-09-12_154825.log.gz: compressed stream "
        f"is truncated: analysed the {_lines_before_cut(packed)} lines before it",
        f"{pg135}: not valid UTF-8: lines read as GB18030",
        f"{pg135}: records decoded as GB18030 (not valid UTF-8) (1)",
    ])
    assert any("系统中的NUMA策略" in e.message for e in analysis.events)


def _lines_before_cut(packed: bytes) -> int:
    import zlib

    text = zlib.decompressobj(31).decompress(packed[: len(packed) // 2])
    return text.count(b"\n") + (not text.endswith(b"\n"))


def test_unreadable_folder_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """os.walk drops a folder it cannot list unless asked: it must be named (as non-root users
    see it; root reads every folder, so the refusal is simulated)."""
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "x.log").write_text(GOOD)
    (tmp_path / "ok.log").write_text(GOOD)
    real = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        if str(path).endswith("secret"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    a = analyse([tmp_path])
    assert [(r.path, r.reason) for r in a.not_analysed] == [
        ("secret", "cannot open folder: Permission denied")]
    assert [r.path for r in a.analysed] == ["ok.log"]
