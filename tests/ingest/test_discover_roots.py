"""Several paths on the command line: every file keeps a display of its own and the folders
that name its host, as if their common folder had been given (``reformdiag analyze host1
host2``, or a shell glob over the hosts' logs)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reformdiag.cli import app
from reformdiag.ingest.discover import discover
from reformdiag.ingest.identity import path_hints
from reformdiag.pipeline import run

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "opengauss_reform_round1_fail" / "bundle"


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_files_given_one_by_one_read_as_their_folder() -> None:
    """Each file alone showed as its bare name: the three hosts' ``dms.rlog`` were one log of
    no host, and the report held a false CRITICAL (two primaries at once)."""
    (a, da), (b, db) = run([SAMPLE]), run(_files(SAMPLE))
    assert [r.path for r in a.inputs] == [r.path for r in b.inputs]
    assert [(n.key, n.host, n.dn_instance) for n in a.cluster.nodes] == \
        [(n.key, n.host, n.dn_instance) for n in b.cluster.nodes]
    assert [(f.rule, f.nodes) for f in db.findings] == [(f.rule, f.nodes) for f in da.findings]
    assert [f.rule for f in db.findings] == ["OG001"]


@pytest.mark.parametrize("sample", sorted(p.name for p in (ROOT / "samples").iterdir()
                                          if (p / "bundle").is_dir()))
def test_every_sample_as_a_list_of_files_gives_the_folders_report(sample: str,
                                                                  tmp_path: Path) -> None:
    """The same JSON report, byte for byte, whatever the order the files are given in."""
    bundle = ROOT / "samples" / sample / "bundle"
    folder, files = tmp_path / "folder.json", tmp_path / "files.json"
    for args, out in (([str(bundle)], folder),
                      ([str(p) for p in reversed(_files(bundle))], files)):
        result = CliRunner().invoke(app, ["analyze", *args, "-f", "json", "-o", str(out)])
        assert result.exit_code == 0, result.output
    assert files.read_bytes() == folder.read_bytes()


def test_host_folders_given_apart_keep_their_names(tmp_path: Path) -> None:
    hosts = ["openGauss111", "openGauss135"]
    for host in hosts:
        shutil.copytree(SAMPLE / host, tmp_path / host)
    sources, skipped = discover([tmp_path / h for h in hosts])
    displays = [s.display for s in sources]
    assert not skipped and len(set(displays)) == len(displays)
    assert "openGauss111/gausslog/pg_log/DMS/run/dms.rlog" in displays
    assert {path_hints(s.parts).host for s in sources} == set(hosts)


def test_relative_paths_are_shown_from_their_common_folder(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    for host in ("openGauss111", "openGauss135"):
        shutil.copytree(SAMPLE / host, tmp_path / "bundle" / host)
    monkeypatch.chdir(tmp_path / "bundle" / "openGauss111")
    sources, _ = discover([Path("gausslog/pg_log/DMS/run/dms.rlog"),
                           Path("../openGauss135/gausslog/pg_log/DMS/run/dms.rlog")])
    assert [s.display for s in sources] == ["openGauss111/gausslog/pg_log/DMS/run/dms.rlog",
                                            "openGauss135/gausslog/pg_log/DMS/run/dms.rlog"]


def test_one_path_is_shown_from_itself() -> None:
    """One folder: paths inside it; one file, or files of one folder: their names."""
    sources, _ = discover([SAMPLE / "openGauss111"])
    assert sources[0].display.startswith("gausslog/")
    logs = sorted((SAMPLE / "openGauss111/gausslog/pg_log/dn_6001").glob("*.log"))
    sources, _ = discover(logs)
    assert [s.display for s in sources] == [p.name for p in logs]


def test_one_host_folder_names_its_node() -> None:
    """`reformdiag analyze openGauss111` names the node openGauss111, as the same folder
    given beside another does (it was dn_6001, from the instance folder)."""
    alone, _ = run([SAMPLE / "openGauss111"])
    beside, _ = run([SAMPLE / "openGauss111", SAMPLE / "openGauss135"])
    assert [n.key for n in alone.cluster.nodes] == ["openGauss111"]
    assert [n.key for n in beside.cluster.nodes] == ["openGauss111", "openGauss135"]
    assert {e.node for e in alone.events} == {"openGauss111"}


def test_a_path_that_cannot_be_looked_at_is_named_and_the_rest_read(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A path under a folder this user may not enter: stat() fails with EACCES, which
    Path.exists() does not swallow."""
    blocked = SAMPLE / "openGauss135"
    real_stat = Path.stat

    def stat(self: Path, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if self == blocked:
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", stat)
    sources, skipped = discover([SAMPLE / "openGauss111", blocked])
    assert [(s.display, s.reason) for s in skipped] == [(str(blocked),
                                                        "cannot open: Permission denied")]
    assert sources and all(s.display.startswith("openGauss111/") for s in sources)


def test_a_path_given_again_is_read_once() -> None:
    """`analyze bundle bundle/openGauss111` (or the same folder twice): the header counted
    every file twice and each copy was listed apart."""
    files = _files(SAMPLE)
    sources, skipped = discover([SAMPLE, SAMPLE / "openGauss111"])
    assert len(sources) == len(files) == len({s.path for s in sources})
    assert [(s.display, s.status, s.reason) for s in skipped] == [
        (str(SAMPLE / "openGauss111"), "repeated",
         "its 5 file(s) are also in another path given: each is read once")]
    again, skipped = discover([SAMPLE, SAMPLE])
    assert len(again) == len(files) and [s.status for s in skipped] == ["repeated"]
