"""Rotated segments and repeated content: a copy, a log both archived and unpacked, segments
whose heads repeat the tail before them; every line's events are counted once."""

from __future__ import annotations

import io
import tarfile
from collections import Counter
from pathlib import Path

import pytest

from reformdiag.ingest.rotation import family
from reformdiag.pipeline import analyse

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "opengauss_reform_round1_fail" / "bundle"
DMS = SAMPLE / "openGauss111/gausslog/pg_log/DMS/run/dms.rlog"
PG = SAMPLE / "openGauss111/gausslog/pg_log/dn_6001/postgresql-2024-09-19_171113.log"


def _events(paths: list[Path]) -> Counter[tuple[object, ...]]:
    return Counter((e.time, e.node, e.kind, e.message) for e in analyse(paths).events)


def _reference(tmp_path: Path, source: Path) -> Path:
    """The sample file alone, in its host's folders (so node and time zone are the same)."""
    root = tmp_path / "reference"
    _put(root, source.relative_to(SAMPLE).as_posix(), source.read_bytes())
    return root


def _put(root: Path, rel: str, data: bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name,log,order", [
    ("postgresql-2024-07-25_084107.log", "postgresql-*.log", (1, "2024-07-25_084107")),
    ("cm_agent-2024-07-25_083955-current.log", "cm_agent-*.log", (1, "2024-07-25_083955~")),
    ("cm_agent-2024-07-25_083955.log", "cm_agent-*.log", (1, "2024-07-25_083955")),
    ("dms_20240919171437353.rlog", "dms.rlog", (1, "20240919171437353")),
    ("dms_2024-09-19_171437353.rlog", "dms.rlog", (1, "20240919171437353")),
    ("dms.rlog", "dms.rlog", (2, "")),
    ("dms.rlog.3", "dms.rlog", (0, "9996")),
])
def test_rotation_names(name: str, log: str, order: tuple[int, str]) -> None:
    assert family(name) == (log, order)


def test_rotation_order_older_first() -> None:
    names = ["dms.rlog", "dms.rlog.1", "dms.rlog.2", "cm_agent-2024-07-25_083955-current.log",
             "cm_agent-2024-07-25_083955.log", "dms_20240919171437353.rlog"]
    dms = sorted((n for n in names if n.startswith("dms")), key=lambda n: family(n)[1])
    assert dms == ["dms.rlog.2", "dms.rlog.1", "dms_20240919171437353.rlog", "dms.rlog"]
    cm = sorted((n for n in names if n.startswith("cm")), key=lambda n: family(n)[1])
    assert cm == ["cm_agent-2024-07-25_083955.log", "cm_agent-2024-07-25_083955-current.log"]


def test_a_file_copied_twice_counts_once(tmp_path: Path) -> None:
    rel = "openGauss111/gausslog/pg_log/dn_6001/postgresql-2024-09-19_171113.log"
    _put(tmp_path / "once", rel, PG.read_bytes())
    _put(tmp_path / "twice", rel, PG.read_bytes())
    _put(tmp_path / "twice", "saved/postgresql-2024-09-19_171113.log", PG.read_bytes())
    assert _events([tmp_path / "twice"]) == _events([tmp_path / "once"])
    a = analyse([tmp_path / "twice"])
    copy = next(r for r in a.inputs if r.path.startswith("saved/"))
    assert copy.events == 0
    assert copy.notes == [f"same content as {rel}: its lines are counted once, there"]


def test_archive_and_its_unpacked_copy_count_once(tmp_path: Path) -> None:
    rel = "openGauss111/gausslog/pg_log/DMS/run/dms.rlog"
    bundle = tmp_path / "bundle"
    _put(bundle, rel, DMS.read_bytes())
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo(rel)
        info.size = DMS.stat().st_size
        tar.addfile(info, io.BytesIO(DMS.read_bytes()))
    (bundle / "openGauss111.tar.gz").write_bytes(buf.getvalue())
    assert _events([bundle]) == _events([_reference(tmp_path, DMS)])
    a = analyse([bundle])
    member = next(r for r in a.inputs if "!" in r.path)
    assert member.events == 0 and member.notes[-1].startswith(f"same content as {rel}")


def test_overlapping_segments_drop_the_repeated_head(tmp_path: Path) -> None:
    """A backup and the current dms.rlog whose first 40 lines repeat the backup's last 40."""
    lines = DMS.read_bytes().splitlines(keepends=True)
    run = tmp_path / "bundle/openGauss111/gausslog/pg_log/DMS/run"
    _put(run, "dms_20240919171000000.rlog", b"".join(lines[:150]))
    _put(run, "dms.rlog", b"".join(lines[110:]))
    assert _events([tmp_path / "bundle"]) == _events([_reference(tmp_path, DMS)])
    a = analyse([tmp_path / "bundle" / "openGauss111"])
    current = next(r for r in a.inputs if r.path.endswith("/dms.rlog"))
    assert current.notes == ["its first 40 lines repeat the last 40 lines of "
                             "gausslog/pg_log/DMS/run/dms_20240919171000000.rlog: counted once, "
                             "there"]
    assert all(r.lines == r.records + r.continuation + r.unparsed for r in a.inputs)


def test_an_early_copy_of_a_growing_log_is_contained_in_the_later(tmp_path: Path) -> None:
    lines = PG.read_bytes().splitlines(keepends=True)
    folder = tmp_path / "bundle/openGauss111/gausslog/pg_log/dn_6001"
    _put(folder, "postgresql-2024-09-19_171113.log", b"".join(lines))
    _put(folder, "postgresql-2024-09-19_171113.log.copy", b"".join(lines[:60]))
    a = analyse([tmp_path / "bundle"])
    early = next(r for r in a.inputs if r.path.endswith(".copy"))
    assert early.events == 0
    assert early.notes == ["all its 60 lines are also lines 1-60 of openGauss111/gausslog/pg_log/"
                           "dn_6001/postgresql-2024-09-19_171113.log: counted once, there"]
    assert _events([tmp_path / "bundle"]) == _events([_reference(tmp_path, PG)])


def test_rotated_segments_without_repeats_are_all_counted(tmp_path: Path) -> None:
    lines = DMS.read_bytes().splitlines(keepends=True)
    run = tmp_path / "bundle/openGauss111/gausslog/pg_log/DMS/run"
    _put(run, "dms_20240919171000000.rlog", b"".join(lines[:120]))
    _put(run, "dms.rlog", b"".join(lines[120:]))
    a = analyse([tmp_path / "bundle"])
    assert all(r.notes == [] for r in a.inputs)
    assert _events([tmp_path / "bundle"]) == _events([_reference(tmp_path, DMS)])


def test_two_hosts_logs_of_the_same_hours_are_not_hashed(tmp_path: Path, monkeypatch) -> None:
    """Files whose folders name no host fall into one log per format; two hosts' logs of the
    same hours overlap in time but share no line. Their first lines rule that out without
    hashing every line of both (which took 6 s and 300 MB for 805 MB of pg_log)."""
    import reformdiag.ingest.rotation as rotation

    flat = tmp_path / "flat"
    for host in ("openGauss111", "openGauss135", "openGauss137"):
        for src in sorted((SAMPLE / host / "gausslog/pg_log").glob("dn_*/*.log")):
            _put(flat, f"{host}-{src.name}", src.read_bytes())
    hashed: list[str] = []
    real = rotation._line_hashes
    monkeypatch.setattr(rotation, "_line_hashes",
                        lambda source: hashed.append(source.display) or real(source))
    a = analyse([flat])
    assert hashed == []
    assert all(r.notes == [] for r in a.inputs)


def test_a_repeated_head_is_still_found_when_hosts_are_unknown(tmp_path: Path) -> None:
    lines = DMS.read_bytes().splitlines(keepends=True)
    _put(tmp_path, "dms_20240919171000000.rlog", b"".join(lines[:150]))
    _put(tmp_path, "dms.rlog", b"".join(lines[110:]))
    a = analyse([tmp_path])
    current = next(r for r in a.inputs if r.path == "dms.rlog")
    assert current.notes == ["its first 40 lines repeat the last 40 lines of "
                             "dms_20240919171000000.rlog: counted once, there"]


@pytest.mark.parametrize("data,line,found", [
    (b"abc\ndef\n", b"abc", True),  # the first line
    (b"abc\ndef\n", b"def", True),
    (b"abc\r\ndef\r\n", b"def", True),  # CRLF: the hashes strip the CR too
    (b"abc\ndefg\n", b"def", False),  # a line that only starts with it
    (b"abc\nxdef\n", b"def", False),  # a line that only ends with it
    (b"abc\ndef", b"def", True),  # the last line, with no end
    (b"x" * (4 * 1024 * 1024 - 2) + b"\nneedle line\nz\n", b"needle line", True),  # cut by a read
])
def test_has_line_finds_whole_lines_only(tmp_path: Path, data: bytes, line: bytes,
                                         found: bool) -> None:
    from reformdiag.ingest.discover import discover
    from reformdiag.ingest.rotation import _has_line

    path = tmp_path / "x.log"
    path.write_bytes(data)
    (source,), _ = discover([path])
    assert _has_line(source, line) is found


def test_a_backup_of_a_host_under_another_name_adds_no_node(tmp_path: Path) -> None:
    """A collector saved openGauss111's logs and also a backup archive of them whose folder
    says host-a: the copies are counted once, and host-a is not a fourth node."""
    bundle = tmp_path / "bundle"
    for src in sorted(SAMPLE.rglob("*")):
        if src.is_file():
            _put(bundle, src.relative_to(SAMPLE).as_posix(), src.read_bytes())
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for src in sorted((SAMPLE / "openGauss111").rglob("*")):
            if src.is_file():
                rel = "host-a/" + src.relative_to(SAMPLE / "openGauss111").as_posix()
                info = tarfile.TarInfo(rel)
                info.size = src.stat().st_size
                tar.addfile(info, io.BytesIO(src.read_bytes()))
    _put(bundle, "backup/host-a.tgz", buf.getvalue())
    a = analyse([bundle])
    assert [n.key for n in a.cluster.nodes] == ["openGauss111", "openGauss135", "openGauss137"]
    copies = [r for r in a.inputs if "host-a.tgz!" in r.path]
    assert copies and all(r.node == "openGauss111" and r.events == 0 for r in copies)
    assert _events([bundle]) == _events([SAMPLE])
