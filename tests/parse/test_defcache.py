"""The definition cache (parse/defcache.py): served only while nothing changed, rebuilt when
damaged, and never read from a folder others can write."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from reformdiag import resources
from reformdiag.parse import defcache

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp dir of the test's own, and no key remembered from earlier calls."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(defcache, "_KEY", None)
    monkeypatch.delenv(defcache.DISABLE_ENV, raising=False)
    return tmp_path


def _counting(value: object) -> tuple[list[int], object]:
    calls: list[int] = []

    def load() -> object:
        calls.append(1)
        return value

    return calls, load


def test_second_load_comes_from_the_cache(private_tmp: Path) -> None:
    calls, load = _counting({"a": [1, 2]})
    assert defcache.cached("thing", load) == {"a": [1, 2]}
    assert defcache.cached("thing", load) == {"a": [1, 2]}
    assert len(calls) == 1
    folder = defcache.cache_dir()
    assert folder is not None and folder.parent == private_tmp
    assert folder.stat().st_mode & 0o777 == 0o700


def test_damaged_entry_is_rebuilt(private_tmp: Path) -> None:
    calls, load = _counting([1])
    defcache.cached("thing", load)
    folder = defcache.cache_dir()
    assert folder is not None
    (entry,) = folder.glob("thing-*.pickle")
    entry.write_bytes(b"\x80\x05 not a pickle")
    assert defcache.cached("thing", load) == [1]
    assert len(calls) == 2


def test_disabled_by_the_environment(private_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(defcache.DISABLE_ENV, "1")
    calls, load = _counting(3)
    defcache.cached("thing", load)
    defcache.cached("thing", load)
    assert len(calls) == 2


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_folder_open_to_others_is_not_used(private_tmp: Path) -> None:
    folder = defcache.cache_dir()
    assert folder is not None
    folder.chmod(0o777)
    assert defcache.cache_dir() is None
    calls, load = _counting(4)
    defcache.cached("thing", load)
    defcache.cached("thing", load)
    assert len(calls) == 2


def test_key_follows_every_definition_file(private_tmp: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    grammars = private_tmp / "grammars"
    rules = private_tmp / "rules"
    shutil.copytree(resources.grammars_dir(), grammars)
    shutil.copytree(resources.rules_dir(), rules)
    monkeypatch.setattr(resources, "grammars_dir", lambda: grammars)
    monkeypatch.setattr(resources, "rules_dir", lambda: rules)
    keys = {defcache.definitions_key()}
    for edited in (grammars / "rd_terminals.lark", next(rules.rglob("*.yaml")),
                   next(grammars.glob("*.yaml"))):
        with edited.open("a", encoding="utf-8") as handle:
            handle.write("\n# edited\n")
        monkeypatch.setattr(defcache, "_KEY", None)
        keys.add(defcache.definitions_key())
    assert len(keys) == 4


@pytest.mark.slow
def test_cached_start_needs_neither_yaml_jinja_nor_rich(tmp_path: Path) -> None:
    """A second `analyze --format json` of a healthy bundle into a pipe takes its checked
    definitions from the cache and renders nothing with Jinja or rich: those imports (and
    YAML) are start-up time nobody needs."""
    script = (
        "import sys\n"
        "from reformdiag.cli import main\n"
        f"sys.argv = ['reformdiag', 'analyze', {str(ROOT / 'samples' / 'healthy_opengauss_switchover')!r},"
        f" '--format', 'json', '-o', {str(tmp_path / 'out.json')!r}, '--jobs', '1']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(' '.join(m for m in ('yaml', 'jinja2', 'rich') if m in sys.modules))\n"
    )
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    env.pop(defcache.DISABLE_ENV, None)
    env.pop("FORCE_COLOR", None)
    env.pop("TTY_COMPATIBLE", None)
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           env=env, timeout=300, cwd=ROOT) for _ in range(2)]
    assert runs[0].returncode == 0, runs[0].stderr
    assert "yaml" in runs[0].stdout  # the first run loads and checks every file
    assert runs[1].returncode == 0, runs[1].stderr
    assert runs[1].stdout.strip() == "", runs[1].stdout
