"""Bad input: every problem is one clear line naming the file, and the rest goes on."""

from __future__ import annotations

import gzip
import os
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
