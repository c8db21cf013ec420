"""Archives read as streams: tar, tar.gz, zip, bz2, xz, nested; hostile entries refused with one
line naming the archive and the entry; members pickle and read back exactly."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import pickle
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reformdiag.ingest import archive, compression
from reformdiag.ingest.discover import discover
from reformdiag.ingest.reader import ReadStats, read_chunks, read_head
from reformdiag.pipeline import analyse

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "bad_input"
SAMPLE = ROOT / "samples" / "opengauss_reform_round1_fail" / "bundle"


def _read(source) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join(bytes(c) for c in read_chunks(source, ReadStats()))


def _tar(path: Path, members: dict[str, bytes], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _host_files(host: str) -> dict[str, bytes]:
    root = SAMPLE / host
    return {f"{host}/{p.relative_to(root).as_posix()}": p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _summary(paths: list[Path]) -> tuple[object, ...]:
    """What the analysis says, independent of where the files came from."""
    a = analyse(paths)
    events = sorted((e.time, e.node, e.kind, e.message) for e in a.events)
    lines = sorted((r.node, r.format, r.lines, r.records, r.continuation, r.unparsed)
                   for r in a.analysed)
    return events, lines, sorted(n.label() for n in a.cluster.nodes)


def test_nested_collector_tarball_reads_as_if_unpacked(tmp_path: Path) -> None:
    """gs_collector style: a tarball of per-host tarballs, with a gzipped CM log inside."""
    sources, skipped = discover([FIXTURES / "nested_collector.tar.gz"])
    assert skipped == []
    pg = next(s for s in sources if s.display.endswith("dn_6001/postgresql-2024-09-19_171113.log"))
    assert pg.display == ("nested_collector.tar.gz!/collector_20240919_092000/openGauss111.tar.gz"
                          "!/openGauss111/gausslog/pg_log/dn_6001/postgresql-2024-09-19_171113.log")
    assert _read(pg) == (SAMPLE / "openGauss111/gausslog/pg_log/dn_6001/"
                         "postgresql-2024-09-19_171113.log").read_bytes()
    agent = next(s for s in sources if "cm_agent" in s.display)
    assert agent.compression == "gz" and agent.name.endswith("-2024-09-12_154825.log")
    a = analyse([FIXTURES / "nested_collector.tar.gz"])
    assert {r.node for r in a.analysed} == {"openGauss111", "openGauss137"}
    assert all(r.lines == r.records + r.continuation + r.unparsed for r in a.analysed)
    # the same files unpacked give the same analysis (nodes, events, line accounting)
    unpacked = tmp_path / "bundle"
    for host in ("openGauss111", "openGauss137"):
        shutil.copytree(SAMPLE / host, unpacked / host)
    assert _summary([FIXTURES / "nested_collector.tar.gz"]) == _summary([unpacked])


@pytest.mark.parametrize("kind", ["tar", "tar.gz", "tar.bz2", "tar.xz", "zip"])
def test_every_archive_kind_gives_the_same_analysis(tmp_path: Path, kind: str) -> None:
    members = {**_host_files("openGauss111"), **_host_files("openGauss137")}
    path = tmp_path / f"bundle.{kind}"
    if kind == "zip":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in members.items():
                zf.writestr(name, data)
    else:
        mode = {"tar": "w", "tar.gz": "w:gz", "tar.bz2": "w:bz2", "tar.xz": "w:xz"}[kind]
        _tar(path, members, mode)
    plain = tmp_path / "plain"
    for name, data in members.items():
        (plain / name).parent.mkdir(parents=True, exist_ok=True)
        (plain / name).write_bytes(data)
    assert _summary([path]) == _summary([plain])


@pytest.mark.parametrize("codec,pack", [("gz", gzip.compress), ("bz2", bz2.compress),
                                        ("xz", lzma.compress)])
def test_compressed_logs_are_found_by_content_not_name(tmp_path: Path, codec: str, pack) -> None:  # type: ignore[no-untyped-def]
    data = (SAMPLE / "openGauss111/gausslog/pg_log/DMS/run/dms.rlog").read_bytes()
    host = tmp_path / "openGauss111" / "gausslog" / "pg_log" / "DMS" / "run"
    host.mkdir(parents=True)
    (host / f"dms.rlog.{codec}").write_bytes(pack(data))
    (host / "dms.rlog.1").write_bytes(pack(data[: len(data) // 2]))  # rotated, no suffix
    sources, _ = discover([tmp_path])
    assert {s.compression for s in sources} == {codec}
    for s in sources:
        assert data.startswith(_read(s))
    a = analyse([tmp_path])
    assert {r.format for r in a.analysed} == {"dms_run_log"}


def test_zip_slip_entries_are_refused_one_line_each_and_the_rest_is_read() -> None:
    a = analyse([FIXTURES / "zip_slip.tar"])
    refused = {r.path: r.reason for r in a.not_analysed}
    assert refused == {
        "zip_slip.tar!/../../../tmp/evil.log":
            "entry name climbs out of the bundle with '..', refused",
        "zip_slip.tar!/etc/cron.d/evil": "entry name '/etc/cron.d/evil' is an absolute path, "
                                         "refused",
        "zip_slip.tar!/host1/gausslog/pg_log/dn_6001/../../../../outside.log":
            "entry name climbs out of the bundle with '..', refused",
        "zip_slip.tar!/host1/gausslog/pg_log/dn_6001/postgresql-2024-09-19_171113-passwd.log":
            "link to '../../../../../../etc/passwd' points out of the bundle, refused",
        "zip_slip.tar!/host1/gausslog/pg_log/dn_6001/hard.log":
            "link to '../../etc/shadow' points out of the bundle, refused",
    }
    (good,) = a.analysed  # the link inside the archive is not read twice
    assert good.path == "zip_slip.tar!/host1/gausslog/pg_log/dn_6001/postgresql-2024-09-19_171113.log"
    assert good.node == "host1" and good.format == "opengauss_pg_log"
    assert any(e.kind == "first_round_reform_failed" for e in a.events)


def test_zip_entries_that_escape_are_refused(tmp_path: Path) -> None:
    line = (SAMPLE / "openGauss111/gausslog/pg_log/DMS/run/dms.rlog").read_bytes()
    path = tmp_path / "ticket.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("host1/gausslog/pg_log/DMS/run/dms.rlog", line)
        zf.writestr("../../evil.rlog", line)
        link = zipfile.ZipInfo("host1/gausslog/passwd")
        link.external_attr = (0o120777 << 16)
        zf.writestr(link, "../../../etc/passwd")
    a = analyse([path])
    assert {r.path: r.reason.split(",")[0] for r in a.not_analysed} == {
        "ticket.zip!/../../evil.rlog": "entry name climbs out of the bundle with '..'",
        "ticket.zip!/host1/gausslog/passwd": "link to '../../../etc/passwd' points out of the "
                                             "bundle"}
    assert [r.format for r in a.analysed] == ["dms_run_log"]


def _bomb(size: int) -> bytes:
    """A log head (so the file is read, not set aside as binary), then ``size`` zero bytes:
    about 1000 times smaller compressed."""
    z = compression.zlib.compressobj(9, compression.zlib.DEFLATED, 31)
    head = (SAMPLE / "openGauss111/gausslog/pg_log/dn_6001/postgresql-2024-09-19_171113.log")
    block = bytes(1024 * 1024)
    return b"".join([z.compress(head.read_bytes() * 8), *(z.compress(block)
                                                         for _ in range(size >> 20)), z.flush()])


def test_decompression_bomb_is_refused_while_streaming(tmp_path: Path) -> None:
    """100 MiB in 100 KiB: past 64 MiB at ~1000x it is refused; the rest goes on."""
    (tmp_path / "bomb.gz").write_bytes(_bomb(100 * 1024 * 1024))
    shutil.copy(FIXTURES / "zip_slip.tar", tmp_path)
    a = analyse([tmp_path])
    bomb = next(r for r in a.inputs if r.path == "bomb.gz")
    assert bomb.status == "error" and "bomb.gz: refused, expands more than 200 times" in bomb.reason
    assert any(r.status == "analysed" for r in a.inputs)


def test_bomb_inside_a_tarball_names_the_archive_and_the_entry(tmp_path: Path) -> None:
    good = (SAMPLE / "openGauss111/gausslog/pg_log/DMS/run/dms.rlog").read_bytes()
    path = _tar(tmp_path / "bundle.tar", {"host1/gausslog/pg_log/DMS/run/dms.rlog": good,
                                          "host1/core.gz": _bomb(80 * 1024 * 1024)}, "w")
    a = analyse([path])
    bomb = next(r for r in a.inputs if r.path == "bundle.tar!/host1/core.gz")
    assert bomb.status == "error" and "bundle.tar!/host1/core.gz: refused" in bomb.reason
    assert [r.format for r in a.analysed] == ["dms_run_log"]


def test_a_bomb_of_a_container_is_refused_with_its_entry(tmp_path: Path) -> None:
    """A tar.gz whose tar holds 80 MiB of zeros: the container itself expands too far."""
    payload = io.BytesIO()
    with tarfile.open(fileobj=payload, mode="w") as tar:
        info = tarfile.TarInfo("host1/zeros.log")
        info.size = 80 * 1024 * 1024
        tar.addfile(info, io.BytesIO(bytes(info.size)))
    (tmp_path / "zeros.tar.gz").write_bytes(gzip.compress(payload.getvalue(), 9))
    _, skipped = discover([tmp_path])
    assert [(s.display, s.reason.split(",")[0]) for s in skipped] == [
        ("zeros.tar.gz", "zeros.tar.gz: refused")]


def test_size_limit_is_counted_while_streaming(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compression, "MAX_EXPANDED", 1000)
    data = (SAMPLE / "openGauss111/gausslog/pg_log/DMS/run/dms.rlog").read_bytes()
    (tmp_path / "dms.rlog.gz").write_bytes(gzip.compress(data))
    (r,) = analyse([tmp_path]).inputs
    assert r.status == "error" and "expands past" in r.reason


def test_truncated_tarball_keeps_the_entries_before_the_cut(tmp_path: Path) -> None:
    """The copy of a collector tarball stopped inside the second host's tarball."""
    inner = gzip.decompress((FIXTURES / "nested_collector.tar.gz").read_bytes())
    with tarfile.open(fileobj=io.BytesIO(inner)) as tar:
        second = tar.getmembers()[1]
    cut = second.offset_data + second.size // 2
    (tmp_path / "cut.tar").write_bytes(inner[:cut])
    a = analyse([tmp_path / "cut.tar"])
    hosts = {r.node for r in a.analysed}
    assert "openGauss111" in hosts, "the host tarball before the cut is read whole"
    problems = [r for r in a.not_analysed if r.path.startswith("cut.tar")]
    assert problems and all("truncated" in r.reason or "ends" in r.reason for r in problems)
    assert all(r.lines == r.records + r.continuation + r.unparsed for r in a.analysed)


def test_garbage_archive_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    a = analyse([tmp_path])
    (bad,) = a.inputs
    assert bad.path == "broken.zip" and bad.reason.startswith("bad archive:")


def test_sources_pickle_and_read_back_the_same(tmp_path: Path) -> None:
    """Workers get Sources by pickle: an opener description, never an open file."""
    sources, _ = discover([FIXTURES / "nested_collector.tar.gz"])
    for source in sources:
        again = pickle.loads(pickle.dumps(source))
        assert again == source
        assert _read(again) == _read(source)
        assert read_head(again, 100) == _read(source)[:100]


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False))
def test_members_read_in_any_order_give_their_bytes(rnd) -> None:  # type: ignore[no-untyped-def]
    """The cursor cache must never hand out the wrong bytes, whatever the order of reads."""
    sources, _ = discover([FIXTURES / "nested_collector.tar.gz"])
    expected = {s.display: _read(s) for s in sources}
    archive.CURSORS.clear()
    order = list(sources) * 2
    rnd.shuffle(order)
    for s in order:
        if rnd.random() < 0.5:
            size = rnd.randint(1, 5000)
            assert read_head(s, size) == expected[s.display][:size]
        assert _read(s) == expected[s.display]


def test_member_names_that_escape() -> None:
    assert archive.member_parts("host1/./gausslog//x.log") == ("host1", "gausslog", "x.log")
    for name in ("../x", "a/../../x", "/etc/passwd", "C:\\evil", "a\\..\\..\\x", ".."):
        assert archive.member_parts(name) is None, name


def test_ingest_doctests() -> None:
    import doctest

    from reformdiag.ingest import pasted, rotation

    for module in (compression, rotation, pasted):
        assert doctest.testmod(module).failed == 0, module.__name__


def test_a_damaged_zip_entry_costs_that_entry_only(tmp_path: Path) -> None:
    data = (SAMPLE / "openGauss111/gausslog/pg_log/DMS/run/dms.rlog").read_bytes()
    path = tmp_path / "logs.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("host1/gausslog/pg_log/DMS/run/dms.rlog", data)
        zf.writestr("host1/gausslog/pg_log/DMS/run/dms_20240919000000000.rlog", data[:5000])
    raw = bytearray(path.read_bytes())
    raw[raw.find(b"PK\x03\x04") + 200] ^= 0xFF  # a flipped byte in the first entry's data
    path.write_bytes(bytes(raw))
    a = analyse([path])
    (bad,) = a.not_analysed
    assert bad.path == "logs.zip!/host1/gausslog/pg_log/DMS/run/dms.rlog"
    assert bad.reason.startswith("damaged zip entry")
    assert [r.path.rsplit("/", 1)[1] for r in a.analysed] == ["dms_20240919000000000.rlog"]
