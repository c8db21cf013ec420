"""Parse stage helper: keep loaded definitions (format specs, rules) between runs.

Loading and checking every spec and rule (YAML, regexes, Jinja templates, conditions) costs
~0.2 s, at every start of every run, for files that almost never change. The checked result
is pickled in a private folder of the temp dir, keyed by the content of every file it comes
from and of the code that reads them, so an edited spec, rule, grammar or loader is never
served stale: a changed key means a full load, with every check, and a new entry.

The folder is created for the user alone (mode 0700) and used only while it is owned by the
user and closed to others: a pickle is code, and a shared temp dir must not be able to plant
one.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

# Set REFORMDIAG_NO_CACHE=1 to load every definition afresh (the tests of the loaders do).
DISABLE_ENV = "REFORMDIAG_NO_CACHE"
_PACKAGE = Path(__file__).resolve().parent.parent
_KEEP = 6  # entries kept per name


def cache_dir() -> Path | None:
    """The user's private cache folder in the temp dir, or None if it cannot be trusted."""
    getuid = getattr(os, "getuid", None)
    uid = getuid() if getuid is not None else None
    folder = Path(tempfile.gettempdir()) / f"reformdiag-cache-{uid if uid is not None else 'user'}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        st = folder.lstat()
    except OSError:
        return None
    if getuid is not None and (st.st_uid != uid or st.st_mode & 0o077 or not folder.is_dir()
                               or folder.is_symlink()):
        return None
    return folder


_KEY: str | None = None


def definitions_key() -> str:
    """A key for the place and content of every definition file (grammars/, rules/), of the
    reformdiag code that reads them, and of the Python and Lark versions (rule conditions
    are pickled Lark trees). Computed once per process (~3 ms)."""
    global _KEY
    if _KEY is None:
        import lark

        from reformdiag.resources import grammars_dir, rules_dir

        h = hashlib.sha256()
        for text in (sys.version, lark.__version__):
            h.update(text.encode())
            h.update(b"\0")
        code = sorted(p for p in _PACKAGE.rglob("*") if p.suffix in (".py", ".lark"))
        data = [p for folder in (grammars_dir(), rules_dir()) for p in sorted(folder.rglob("*"))]
        for path in [*code, *data]:
            if not path.is_file():
                continue
            h.update(path.as_posix().encode())
            h.update(b"\0")
            h.update(path.read_bytes())
            h.update(b"\0")
        _KEY = h.hexdigest()[:32]
    return _KEY


def cached(name: str, load: Callable[[], T]) -> T:
    """``load()``, or its pickled result from an earlier run with the same definitions.

    A missing, unreadable or damaged entry means a fresh load (and a new entry); failing to
    write one is silent: the cache only saves time.
    """
    if os.environ.get(DISABLE_ENV):
        return load()
    folder = cache_dir()
    if folder is None:
        return load()
    try:
        key = definitions_key()
    except OSError:
        return load()
    path = folder / f"{name}-{key}.pickle"
    try:
        with path.open("rb") as handle:
            return pickle.load(handle)  # type: ignore[no-any-return]
    except Exception:  # missing, or damaged: rebuilt below
        pass
    value = load()
    _store(folder, name, path, value)
    return value


def _store(folder: Path, name: str, path: Path, value: Any) -> None:
    try:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)  # atomic: a concurrent reader sees the old entry or this one
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        # Keep the newest few entries of this name (a few checkouts or versions side by side);
        # older contents are never read again.
        entries = sorted(folder.glob(f"{name}-*.pickle"), key=lambda p: p.stat().st_mtime)
        for old in entries[:-_KEEP]:
            old.unlink(missing_ok=True)
    except Exception:  # an unwritable cache only costs time
        return
