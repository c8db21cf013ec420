"""The layers import downwards only: cli -> report -> pipeline -> diagnose -> timeline ->
parse -> ingest -> model/errors (STYLE.md section 1). Checked on the source, no dependency."""

from __future__ import annotations

import ast
import doctest
import zipfile
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "reformdiag"
ORDER = ["model", "errors", "resources", "ingest", "parse", "timeline", "diagnose", "pipeline",
         "rulecheck", "batch", "redact", "report", "cli"]
# Modules that belong to another module's layer: the per-file work of the pipeline.
SAME_LAYER = {"parallel": "pipeline"}
BOTTOM = {"model", "errors", "resources"}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "reformdiag" or len(parts) < 2:
        return None
    name = SAME_LAYER.get(parts[1], parts[1])
    return name if name in ORDER else None


def _rank(layer: str) -> int:
    return 0 if layer in BOTTOM else ORDER.index(layer)


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.append(node.module)
        elif isinstance(node, ast.Import):
            out.extend(a.name for a in node.names)
    return out


@pytest.mark.parametrize("path", sorted(PKG.rglob("*.py")), ids=lambda p: str(p.relative_to(PKG)))
def test_no_upward_imports(path: Path) -> None:
    own = _layer("reformdiag." + ".".join(path.relative_to(PKG).with_suffix("").parts))
    if own is None:
        return
    for module in _imports(path):
        target = _layer(module)
        if target is None or target == own:
            continue
        if own in BOTTOM:  # the shared base imports nothing above itself
            assert target in ("model", "errors"), f"{path.name}: {own} must not import {module}"
        assert _rank(target) <= _rank(own), f"{path.name}: {own} imports higher layer {module}"


def test_timestamp_doctests() -> None:
    from reformdiag.parse import timestamps

    assert doctest.testmod(timestamps).failed == 0


@pytest.mark.slow
def test_wheel_ships_grammars_rules_and_schemas(tmp_path: Path) -> None:
    """A non-editable install must carry the data folders (hatch force-include)."""
    import subprocess
    import sys

    root = PKG.parent
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                           str(tmp_path), str(root)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (wheel,) = tmp_path.glob("reformdiag-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for spec in (root / "grammars").rglob("*"):
        if spec.is_file():
            rel = spec.relative_to(root / "grammars").as_posix()
            assert f"reformdiag/_data/grammars/{rel}" in names
    assert any(n.startswith("reformdiag/_data/rules/opengauss/OG001") for n in names)
    assert "reformdiag/_data/schemas/report.schema.json" in names
    assert "reformdiag/diagnose/condition.lark" in names
