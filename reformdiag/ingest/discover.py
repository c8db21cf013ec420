"""Ingest stage: walk the paths given on the command line into a list of log sources."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(slots=True)
class Source:
    """One input file: where it is, how to show it, how it is compressed."""

    path: Path
    display: str  # path relative to the analysed root, with forward slashes
    parts: tuple[str, ...]  # display split into folders, for node identity
    compression: str | None = None  # gz | None
    size: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """File name without a compression suffix (``dms.rlog.gz`` -> ``dms.rlog``)."""
        name = self.parts[-1] if self.parts else self.path.name
        return name[:-3] if self.compression == "gz" and name.endswith(".gz") else name


@dataclass(slots=True)
class Skipped:
    """A path that could not even be opened as a source (loop, permission, special file)."""

    display: str
    reason: str


def _compression(path: Path) -> str | None:
    return "gz" if path.name.endswith(".gz") else None


def discover(paths: list[Path]) -> tuple[list[Source], list[Skipped]]:
    """Expand files and directories (recursively, sorted, symlink loops refused)."""
    sources: list[Source] = []
    skipped: list[Skipped] = []
    for root in paths:
        if not root.exists():
            skipped.append(Skipped(str(root), "no such file or directory"))
            continue
        if root.is_file():
            sources.append(_source(root, root.parent))
            continue
        base = root
        seen: set[tuple[int, int]] = set()
        for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=None):
            here = Path(dirpath)
            try:
                st = here.stat()
            except OSError as exc:
                skipped.append(Skipped(_rel(here, base), f"cannot open folder: {exc.strerror}"))
                dirnames[:] = []
                continue
            key = (st.st_dev, st.st_ino)
            if key in seen:
                skipped.append(Skipped(_rel(here, base), "symbolic link loop, not followed"))
                dirnames[:] = []
                continue
            seen.add(key)
            dirnames.sort()
            for name in sorted(filenames):
                path = here / name
                if not path.exists():
                    skipped.append(Skipped(_rel(path, base), "dangling symbolic link"))
                    continue
                if not path.is_file():
                    skipped.append(Skipped(_rel(path, base), "not a regular file"))
                    continue
                sources.append(_source(path, base))
    return sources, skipped


def _rel(path: Path, base: Path) -> str:
    try:
        rel = path.relative_to(base)
    except ValueError:
        rel = path
    text = rel.as_posix()
    return text if text != "." else path.name


def _source(path: Path, base: Path) -> Source:
    display = _rel(path, base)
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    return Source(path=path, display=display, parts=tuple(display.split("/")),
                  compression=_compression(path), size=size)
