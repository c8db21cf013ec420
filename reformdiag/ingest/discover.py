"""Ingest stage: walk the paths given on the command line into a list of log sources.

Folders are walked recursively (sorted, symlink loops refused). Every file is probed by its
first bytes: gzip, bzip2 and xz are read through (whatever the name says), and tar and zip
archives, nested or not, are listed into one source per member without extracting anything
(:mod:`reformdiag.ingest.archive`). A source is plain, picklable data: the file on disk, and for
a member the chain of hops into its archive.
"""

from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from reformdiag.errors import InputError
from reformdiag.ingest.archive import Hop, list_archive, probe
from reformdiag.ingest.compression import strip_suffix

_RUNS = itertools.count(1)


@dataclass(slots=True)
class Source:
    """One input file, or one member of an archive: where it is, how to show it, how to open
    it. Plain data (no open file), so it can be sent to another process."""

    path: Path  # the file on disk (for an archive member: the outermost archive)
    display: str  # path relative to the analysed root, with forward slashes; a member
    #               reads ``bundle.tgz!/host1/gausslog/pg_log/dn_6001/x.log``
    parts: tuple[str, ...]  # folders and name as if every archive were unpacked, for identity
    compression: str | None = None  # gz | bz2 | xz | None: of the file (member) itself
    size: int = 0
    problems: list[str] = field(default_factory=list)
    hops: tuple[Hop, ...] = ()  # the way into the archive; empty for a plain file
    mtime: float | None = None  # when the file (member) was last written
    stamp: str = ""  # one discovery run: cached archive cursors never outlive it

    @property
    def name(self) -> str:
        """File name without a compression suffix (``dms.rlog.gz`` -> ``dms.rlog``)."""
        name = self.parts[-1] if self.parts else self.path.name
        return strip_suffix(name, self.compression)

    @property
    def in_archive(self) -> bool:
        return bool(self.hops)


@dataclass(slots=True)
class Skipped:
    """A path that could not even be opened as a source (loop, permission, special file,
    refused archive entry), or whose files another path given already holds."""

    display: str
    reason: str
    status: str = "error"  # or "repeated"


def discover(paths: list[Path]) -> tuple[list[Source], list[Skipped]]:
    """Expand files, directories and archives (recursively, sorted, symlink loops refused).
    Several paths are shown from their common folder (``_common_base``)."""
    sources: list[Source] = []
    skipped: list[Skipped] = []
    stamp = f"{os.getpid()}:{time.monotonic_ns()}:{next(_RUNS)}"
    common = _common_base(paths)
    if common is not None:  # in the order a walk of it takes: the same result for any order
        paths = sorted(paths, key=lambda root: _walk_order(root, common))
    given: set[tuple[str, tuple[Hop, ...]]] = set()  # files already read from another path
    for root in paths:
        before = len(sources)
        _expand_root(root, common, stamp, sources, skipped)
        again = [s for s in sources[before:] if (os.path.abspath(s.path), s.hops) in given]
        if again:  # the same folder twice, or a folder and a file in it: read once
            repeated = {id(s) for s in again}
            sources[before:] = [s for s in sources[before:] if id(s) not in repeated]
            skipped.append(Skipped(str(root), f"its {len(again)} file(s) are also in another "
                                              "path given: each is read once", "repeated"))
        given.update((os.path.abspath(s.path), s.hops) for s in sources[before:])
    return sources, skipped


def _expand_root(root: Path, common: Path | None, stamp: str, sources: list[Source],
                 skipped: list[Skipped]) -> None:
    """One path of the command line: a file, or a folder walked."""
    try:
        exists, is_file = root.exists(), root.is_file()
    except OSError as exc:  # a folder on the way that this user may not enter
        skipped.append(Skipped(str(root), f"cannot open: {exc.strerror}"))
        return
    if not exists:
        skipped.append(Skipped(str(root), "no such file or directory"))
        return
    if is_file:
        _expand(root, common or root.parent, stamp, sources, skipped)
        return
    base = common or root
    seen: set[tuple[int, int]] = set()

    def unreadable(exc: OSError, base: Path = base) -> None:  # os.walk skips it otherwise
        where = Path(exc.filename) if exc.filename else base
        skipped.append(Skipped(_rel(where, base), f"cannot open folder: {exc.strerror}"))

    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=unreadable):
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
            try:
                exists = path.exists()
            except OSError as exc:  # ELOOP: a link to itself
                skipped.append(Skipped(_rel(path, base), f"cannot open: {exc.strerror}"))
                continue
            if not exists:
                skipped.append(Skipped(_rel(path, base), "dangling symbolic link"))
                continue
            if not path.is_file():
                skipped.append(Skipped(_rel(path, base), "not a regular file"))
                continue
            _expand(path, base, stamp, sources, skipped)


def _common_base(paths: list[Path]) -> Path | None:
    """The folder that displays are relative to when several paths are given: the deepest
    one holding them all. Each root alone would show ``gausslog/pg_log/DMS/run/dms.rlog`` for
    every host's DMS log (``reformdiag analyze host1 host2``, or a shell glob over the hosts'
    files), and the host folder that names the node would be lost. None for one path:
    displays stay relative to it (a file shows its name)."""
    anchors = set()
    for root in paths:
        try:
            if root.exists():
                anchors.add(os.path.abspath(root if root.is_dir() else root.parent))
        except OSError:  # there, but not to be looked at: where it is still counts
            anchors.add(os.path.abspath(root))
    if len(paths) < 2 or not anchors:
        return None
    try:
        return Path(os.path.commonpath(sorted(anchors)))
    except ValueError:  # different drives: each root keeps its own base
        return None


def _walk_order(root: Path, base: Path) -> tuple[tuple[int, str], ...]:
    """Where ``os.walk`` of ``base`` (sorted, files before sub-folders) meets ``root``."""
    if os.path.abspath(root) == str(base):  # the common folder itself: the walk's start
        return ()
    parts = _rel(root, base).split("/")
    try:
        last = 1 if root.is_dir() else 0
    except OSError:  # said where it is walked
        last = 0
    return (*((1, part) for part in parts[:-1]), (last, parts[-1]))


def _rel(path: Path, base: Path) -> str:
    try:
        rel = path.relative_to(base)
    except ValueError:
        try:  # a relative path given beside others, shown from their common folder
            rel = Path(os.path.abspath(path)).relative_to(base)
        except ValueError:
            rel = path
    text = rel.as_posix()
    return text if text != "." else path.name


def _expand(path: Path, base: Path, stamp: str, sources: list[Source],
            skipped: list[Skipped]) -> None:
    """One file: a source, or (an archive) one source per member and one line per refusal."""
    display = _rel(path, base)
    # identity sees the folder the displays start from too: `analyze openGauss111` names
    # its node as `analyze openGauss111 openGauss135` does
    name = Path(os.path.abspath(base)).name
    parts = (*((name,) if name else ()), *display.split("/"))
    try:
        st = path.stat()
    except OSError:
        st = None
    plain = Source(path=path, display=display, parts=parts, size=st.st_size if st else 0,
                   mtime=st.st_mtime if st else None, stamp=stamp)
    try:
        with open(path, "rb") as handle:
            codec, kind, content = probe(handle, display)
            if kind is None:
                plain.compression = codec
                sources.append(plain)
                return
            if kind == "zip" and codec is None:  # a zip on disk is read in place (it seeks)
                with open(path, "rb") as seekable:
                    entries, refused = list_archive(display, parts, codec, kind, seekable)
            else:
                entries, refused = list_archive(display, parts, codec, kind, content)
    except OSError:
        sources.append(plain)  # unreadable: analysing it says why, in one line
        return
    except InputError as exc:
        skipped.append(Skipped(display, exc.message))
        return
    for e in entries:
        sources.append(Source(path=path, display=e.display, parts=e.parts, compression=e.codec,
                              size=e.size, hops=e.hops, mtime=e.mtime, stamp=stamp))
    skipped.extend(Skipped(r.display, r.reason) for r in refused)
