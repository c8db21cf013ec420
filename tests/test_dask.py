"""The Dask engine on a real dask.distributed LocalCluster (two workers on loopback) gives
the same results as the local engine, for analyze and for batch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reformdiag.cli import app

distributed = pytest.importorskip("distributed")
ROOT = Path(__file__).resolve().parents[1]
BUNDLES = sorted(p / "bundle" for p in (ROOT / "samples").iterdir() if (p / "bundle").is_dir())
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scheduler() -> str:
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda p: p.parent.name)
def test_analyze_dask_equals_local(bundle: Path, scheduler: str) -> None:
    runner = CliRunner()
    local = runner.invoke(app, ["analyze", str(bundle), "-f", "json", "--jobs", "1"])
    dask = runner.invoke(app, ["analyze", str(bundle), "-f", "json", "--engine", "dask",
                               "--scheduler", scheduler])
    assert local.exit_code == 0 and dask.exit_code == 0, local.output + dask.output
    assert json.loads(dask.stdout) == json.loads(local.stdout)


def test_batch_both_engines_and_a_broken_bundle(tmp_path: Path, scheduler: str) -> None:
    runner = CliRunner()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "core.bin").write_bytes(bytes(range(256)) * 64)
    targets = [*(str(b) for b in BUNDLES), str(broken), str(tmp_path / "missing")]
    out_local, out_dask = tmp_path / "local.json", tmp_path / "dask.json"
    r1 = runner.invoke(app, ["batch", *targets, "--jobs", "2", "-o", str(out_local)])
    r2 = runner.invoke(app, ["batch", *targets, "--engine", "dask", "--scheduler", scheduler,
                             "-o", str(out_dask)])
    assert r1.exit_code == 0 and r2.exit_code == 0, r1.output + r2.output
    local, dask = json.loads(out_local.read_text()), json.loads(out_dask.read_text())
    strip = lambda s: [(r["bundle"], r["ok"], r["findings"]) for r in s["results"]]  # noqa: E731
    assert strip(local) == strip(dask)
    failed = {f["bundle"] for f in local["failed"]}
    assert failed == {str(broken), str(tmp_path / "missing")}
    assert local["cases"].get("OG-C01") == 1 and local["cases"].get("OG-C03") == 1
    assert "FAILED" in r1.stdout and "OG003(high)" in r1.stdout


def test_batch_csv_and_html(tmp_path: Path) -> None:
    runner = CliRunner()
    csv_out, html_out = tmp_path / "s.csv", tmp_path / "s.html"
    assert runner.invoke(app, ["batch", *(str(b) for b in BUNDLES), "-o", str(csv_out)]
                         ).exit_code == 0
    assert csv_out.read_text().splitlines()[0].startswith("bundle,ok,error,rule")
    assert runner.invoke(app, ["batch", str(BUNDLES[0]), "-o", str(html_out)]).exit_code == 0
    assert "<table>" in html_out.read_text()
