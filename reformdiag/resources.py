"""The only place that knows where the data folders (grammars/, rules/, schemas/) live.

An installed wheel carries them under ``reformdiag/_data`` (hatch force-include); a
source checkout has them next to the package. The installed copy wins.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the folder ``name`` (``grammars``, ``rules`` or ``schemas``)."""
    installed = _PACKAGE / "_data" / name
    if installed.is_dir():
        return installed
    checkout = _PACKAGE.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"reformdiag data folder {name!r} not found (looked in {installed})")


def grammars_dir() -> Path:
    return data_dir("grammars")


def rules_dir() -> Path:
    return data_dir("rules")


def schemas_dir() -> Path:
    return data_dir("schemas")
