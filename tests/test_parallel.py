"""--jobs N gives exactly what --jobs 1 gives (order, accounting, events, findings)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reformdiag.cli import app

ROOT = Path(__file__).resolve().parents[1]
BUNDLES = sorted(p / "bundle" for p in (ROOT / "samples").iterdir() if (p / "bundle").is_dir())


@pytest.fixture(autouse=True)
def _always_parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    """The samples are small: make --jobs use workers for them anyway."""
    monkeypatch.setattr("reformdiag.parallel.MIN_PARALLEL_BYTES", 0)


@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda p: p.parent.name)
def test_jobs_do_not_change_the_report(bundle: Path) -> None:
    runner = CliRunner()
    one = runner.invoke(app, ["analyze", str(bundle), "-f", "json", "--jobs", "1"])
    two = runner.invoke(app, ["analyze", str(bundle), "-f", "json", "--jobs", "2"])
    assert one.exit_code == 0 and two.exit_code == 0, one.output + two.output
    assert json.loads(one.stdout) == json.loads(two.stdout)


# ---- large files cut into segments ------------------------------------------------------
def _snapshot(paths: list[Path], **options: object) -> object:
    import dataclasses

    from reformdiag.pipeline import Options, analyse

    a = analyse(paths, Options(**options))  # type: ignore[arg-type]
    events = [dataclasses.asdict(e) for e in a.events]
    inputs = [dataclasses.asdict(r) for r in a.inputs]
    return events, inputs


@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda p: p.parent.name)
def test_segments_do_not_change_the_analysis(bundle: Path) -> None:
    """Every file of 2 KiB or more cut into 1 KiB segments: the same events and accounting."""
    assert _snapshot([bundle], jobs=2, segment_bytes=1024) == _snapshot([bundle], jobs=1)


def _pg_log(path: Path, records: int) -> None:
    """A pg_log with every kind of line stage one meets: continuation, attach records after
    kept and unkept ones, orphans, blank lines, NUL padding, an over-long line."""
    lines = []
    for i in range(records):
        ts = f"2024-09-19 17:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d}"
        head = f"{ts} openGauss111 postgres postgres 140 0 [BACKEND]"
        kind = i % 7
        if kind == 0:
            lines.append(f"{head} WARNING:  pm wait backends exit timeout {i}")
            lines.append(f"{ts} openGauss111 postgres postgres 140 0 [BACKEND] DETAIL:  why {i}")
        elif kind == 1:
            lines.append(f"{head} LOG:  checkpoint starting: time")
            lines.append(f"{ts} openGauss111 postgres postgres 140 0 [BACKEND] DETAIL:  unkept")
        elif kind == 2:
            lines.append(f"{head} LOG:  statement: select 1")
            lines.append("\tfrom t where a = 1")
            lines.append("")
        elif kind == 3:
            lines.append("an orphan line with no prefix")
        elif kind == 4:
            lines.append(f"{head} ERROR:  relation \"t{i}\" does not exist")
        elif kind == 5 and i % 70 == 5:
            lines.append(f"{head} LOG:  " + "x" * 3000)
        else:
            lines.append(f"{head} LOG:  [SS reform] reform start")
    data = ("\n".join(lines) + "\n").encode()
    data = data.replace(b"checkpoint starting", b"checkpoint\x00\x00 starting", 3)
    path.write_bytes(data)


def test_segments_of_a_large_file(tmp_path: Path) -> None:
    log = tmp_path / "node1" / "gausslog" / "pg_log" / "dn_6001" / "postgresql-2024-09-19_170000.log"
    log.parent.mkdir(parents=True)
    _pg_log(log, 3000)
    whole = _snapshot([tmp_path], jobs=1)
    for size in (4096, 20000, 65536):
        assert _snapshot([tmp_path], jobs=2, segment_bytes=size) == whole, size


def test_cuts_are_safe_record_starts(tmp_path: Path) -> None:
    from reformdiag.ingest.discover import discover
    from reformdiag.ingest.split import segments
    from reformdiag.parse.registry import default_registry
    from reformdiag.pipeline import Options, build_plans

    log = tmp_path / "postgresql-2024-09-19_170000.log"
    _pg_log(log, 3000)
    (source,), _ = discover([log])
    plan = build_plans(default_registry(), Options())["opengauss_pg_log"]
    cuts = segments(source, plan, 4096)
    data = log.read_bytes()
    assert cuts[0].start == 0 and cuts[-1].end == len(data)
    assert all(a.end == b.start for a, b in zip(cuts, cuts[1:], strict=False))
    assert len(cuts) > 20
    for seg in cuts[1:]:
        first = data[seg.start:data.index(b"\n", seg.start) + 1]
        assert data[seg.start - 1:seg.start] == b"\n"
        assert plan.is_record_start(first)
        assert b"DETAIL:" not in first  # an attach-only record is never first


def test_small_bundles_stay_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    import reformdiag.parallel as parallel

    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 16 * 1024 * 1024)
    monkeypatch.setattr(parallel, "ProcessPoolExecutor", None)  # would fail if used
    events, inputs = _snapshot([BUNDLES[0]], jobs=2)
    assert inputs and all(i["status"] for i in inputs)
