"""Shared fixtures and the data-driven test generation (grammars/, rules/, samples/)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


@pytest.fixture(scope="session")
def registry():
    from reformdiag.parse.registry import load_registry

    return load_registry()


def sample_bundles() -> list[Path]:
    return sorted(p for p in SAMPLES.iterdir() if p.is_dir() and not p.name.startswith("_"))
