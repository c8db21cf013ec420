"""Ingest stage: read tar, zip and compressed archives as streams, never extracting to disk.

A collected bundle is often a tarball of per-host tarballs (``gs_collector``), zipped, or a
mix. Every regular member becomes a :class:`~reformdiag.ingest.discover.Source` whose display
path names the archive and the entry (``bundle.tgz!/host1/gausslog/pg_log/dn_6001/x.log``) and
whose path parts read as if the archive had been unpacked into a folder named after it, so node
identity works unchanged. A Source keeps an *opener description* (the archive path and the chain
of :class:`Hop` into it), not an open file, so it pickles to worker processes.

Refused, with one line naming the archive and the entry, while the rest goes on: entry names
that escape the bundle (``../``, absolute paths), links that point out of it, nesting deeper
than ``MAX_DEPTH``, and decompression bombs (ratio and size limits counted while streaming,
:mod:`reformdiag.ingest.compression`).

Compressed tarballs have no random access: reaching a member means decompressing everything
before it. A small per-process cache keeps the decompressed stream of a container positioned
after the last member read (and the bytes just read), so reading the members in archive order,
head first and then the whole member, decompresses the archive once, not once per member.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
import threading
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from reformdiag.errors import InputError
from reformdiag.ingest.compression import (
    BombError,
    check_expansion,
    codec_of,
    open_decompressed,
)

MAX_DEPTH = 4  # archives inside archives inside ... (a tarball of host tarballs is depth 2)
MAX_MEMBERS = 100_000
MAX_SPOOL = 64 * 1024 * 1024  # a zip inside a compressed stream is held in memory up to this
PROBE = 512  # one tar header block
_CURSOR_TAIL = 256 * 1024
_MAX_CURSORS = 8
_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz", ".tar",
                     ".zip", ".gz", ".bz2", ".xz")


@dataclass(frozen=True, slots=True)
class Hop:
    """One step into an archive: the bytes reached so far, decompressed with ``codec``, are a
    ``container`` (tar or zip), and the source goes on in one of its members."""

    codec: str | None  # compression of the container's bytes (tar.gz: gz), None if stored
    container: str  # tar | zip
    member: str  # the member's name as stored (for messages)
    offset: int  # tar: where its data starts in the decompressed tar; zip: its header offset
    size: int  # bytes of the member as stored in the container


@dataclass(slots=True)
class Entry:
    """A regular member found while listing, before it becomes a Source."""

    display: str
    parts: tuple[str, ...]
    hops: tuple[Hop, ...]
    codec: str | None  # the member's own compression (a rotated ``x.log.gz`` in a tarball)
    size: int
    mtime: float | None


@dataclass(slots=True)
class Refusal:
    """An entry or archive that is not read, and why."""

    display: str
    reason: str


def archive_stem(name: str) -> str:
    """The folder an archive would unpack into: ``host1.tar.gz`` -> ``host1``."""
    lower = name.lower()
    for suffix in _ARCHIVE_SUFFIXES:
        if lower.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _is_tar_header(block: bytes) -> bool:
    if len(block) < PROBE:
        return False
    if block[257:262] == b"ustar":
        return True
    try:  # old v7 tar: no magic, but the header checksum must hold
        tarfile.TarInfo.frombuf(block[:PROBE], "utf-8", "surrogateescape")
    except tarfile.HeaderError:
        return False
    return True


def _is_zip(head: bytes) -> bool:
    return head[:4] in (b"PK\x03\x04", b"PK\x05\x06")


class _Prefixed(io.RawIOBase):
    """``head`` (bytes already read) followed by the rest of ``stream``."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head, self._stream = head, stream

    def readable(self) -> bool:
        return True

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._stream.read(len(b))
        b[: len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            super().close()


class _TarStreamMember(io.RawIOBase):
    """A member of a tar read in stream mode: its bytes up to where the archive ends (tarfile's
    own member reader raises on a truncated archive and loses what was there)."""

    def __init__(self, fileobj: Any, offset: int, size: int, lister: Lister) -> None:
        self._f, self._offset, self._size, self._lister = fileobj, offset, size, lister
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        want = min(len(b), self._size - self._pos)
        if want <= 0:
            return 0
        self._f.seek(self._offset + self._pos)  # forward only, as a stream allows
        data = self._f.read(want)
        if not data:
            self._lister.cut_inside = True
            self._size = self._pos
            return 0
        b[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def close(self) -> None:  # the tar stream stays open for the next member
        super().close()


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    parts, got = [], 0
    while got < size:
        data = stream.read(size - got)
        if not data:
            break
        parts.append(data)
        got += len(data)
    return b"".join(parts)


def probe(stream: BinaryIO, what: str) -> tuple[str | None, str | None, BinaryIO]:
    """What a stream holds: (its compression, ``tar``/``zip``/None, the decompressed content
    as a stream starting at its first byte). Nothing read is lost."""
    raw_head = _read_exact(stream, PROBE)
    codec = codec_of(raw_head)
    if codec is None:
        kind = "zip" if _is_zip(raw_head) else "tar" if _is_tar_header(raw_head) else None
        return None, kind, _Prefixed(raw_head, stream)  # type: ignore[return-value]
    decoded = open_decompressed(_Prefixed(raw_head, stream), codec, what)  # type: ignore[arg-type]
    head = _read_exact(decoded, PROBE)
    kind = "tar" if _is_tar_header(head) else None
    return codec, kind, _Prefixed(head, decoded)  # type: ignore[return-value]


def _clean_name(name: str, from_zip_cp437: bool = False) -> str:
    """A member name as readable text: tar keeps undecodable bytes as surrogates, zip without
    the UTF-8 flag decodes as cp437; names written on a Chinese system are GB18030."""
    try:
        raw = name.encode("cp437") if from_zip_cp437 else name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return name
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "replace")


def member_parts(name: str) -> tuple[str, ...] | None:
    """The folders and file name of a member, or None when its name escapes the archive
    (absolute, a drive letter, or any ``..``)."""
    text = name.replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":" and text[0].isalpha()):
        return None
    parts = tuple(p for p in text.split("/") if p not in ("", "."))
    if any(p == ".." for p in parts):
        return None
    return parts


def _escape_reason(name: str) -> str:
    if member_parts(name.lstrip("/\\")) is not None:
        return f"entry name {name!r} is an absolute path, refused"
    return "entry name climbs out of the bundle with '..', refused"


def _link_escapes(member: tuple[str, ...], target: str) -> bool:
    """Does a link stored at ``member`` point outside the archive root?"""
    text = target.replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        return True
    depth = len(member) - 1  # folders above the link inside the archive
    for part in text.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


class Lister:
    """Walk one archive (and the archives inside it) into entries and refusals."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.refused: list[Refusal] = []
        self.count = 0
        self.cut_inside = False  # an entry's data ended early: the archive is truncated

    def archive(self, display: str, parts: tuple[str, ...], codec: str | None, kind: str,
                content: BinaryIO, hops: tuple[Hop, ...], depth: int) -> None:
        """List ``content`` (the decompressed bytes of an archive shown as ``display``)."""
        base = (*parts[:-1], archive_stem(parts[-1])) if parts else ()
        try:
            if kind == "tar":
                self._tar(display, base, codec, content, hops, depth)
            else:
                self._zip(display, base, codec, content, hops, depth)
        except InputError as exc:  # a bomb, a zip too big to hold
            self.refused.append(Refusal(display, exc.message))
        except (tarfile.TarError, zipfile.BadZipFile, zipfile.LargeZipFile, EOFError,
                NotImplementedError, ValueError, OSError) as exc:
            if not (self.cut_inside and "unexpected end of data" in str(exc)):
                # (a cut already reported by the entry it fell in is not said twice)
                self.refused.append(Refusal(display, f"bad archive: {_why(exc)}; "
                                                     f"{self._kept(display)}"))
        problem = stream_problem(content)
        if problem:
            self.refused.append(Refusal(display, f"{problem}: {self._kept(display)}"))

    def _kept(self, display: str) -> str:
        n = sum(1 for e in self.entries if e.display.startswith(display + "!/"))
        return f"the {n} entries before the damage are analysed" if n else "nothing could be read"

    def _member(self, display: str, base: tuple[str, ...], name: str, size: int,
                mtime: float | None, hop: Hop, hops: tuple[Hop, ...], depth: int,
                opener: Callable[[], BinaryIO], from_zip_cp437: bool = False) -> None:
        shown = _clean_name(name, from_zip_cp437)
        where = f"{display}!/{shown.lstrip('/')}"
        parts = member_parts(shown)
        if parts is None:
            self.refused.append(Refusal(where, _escape_reason(shown)))
            return
        self.count += 1
        if self.count > MAX_MEMBERS:
            if self.count == MAX_MEMBERS + 1:
                self.refused.append(Refusal(display, f"more than {MAX_MEMBERS} entries: the "
                                                     "rest is not read"))
            return
        where = f"{display}!/{'/'.join(parts)}"
        chain = (*hops, hop)
        with opener() as member:
            codec, kind, content = probe(member, where)
            if kind is not None:
                if depth + 1 > MAX_DEPTH:
                    self.refused.append(Refusal(where, f"archive nested more than {MAX_DEPTH} "
                                                       "levels deep, not opened"))
                    return
                self.archive(where, (*base, *parts), codec, kind, content, chain, depth + 1)
                return
        self.entries.append(Entry(where, (*base, *parts), chain, codec, size, mtime))

    # -- tar -------------------------------------------------------------------------------
    def _tar(self, display: str, base: tuple[str, ...], codec: str | None, content: BinaryIO,
             hops: tuple[Hop, ...], depth: int) -> None:
        with tarfile.open(fileobj=content, mode="r|", encoding="utf-8",
                          errors="surrogateescape") as tar:
            for info in tar:
                if info.isdir():
                    continue
                name = info.name
                if info.issym() or info.islnk():
                    parts = member_parts(_clean_name(name))
                    # a symlink is relative to its folder, a hard link to the archive root
                    escapes = parts is None or (
                        _link_escapes(parts, info.linkname) if info.issym()
                        else member_parts(info.linkname) is None)
                    if escapes:
                        self.refused.append(Refusal(
                            f"{display}!/{_clean_name(name).lstrip('/')}",
                            f"link to {_clean_name(info.linkname)!r} points out of the bundle, "
                            "refused"))
                    continue  # a link inside the archive: its target is read on its own
                if not info.isreg():
                    self.refused.append(Refusal(f"{display}!/{_clean_name(name).lstrip('/')}",
                                                "not a regular file (device, pipe), skipped"))
                    continue
                hop = Hop(codec, "tar", name, info.offset_data, info.size)
                self._member(display, base, name, info.size, float(info.mtime), hop, hops,
                             depth, lambda info=info: _TarStreamMember(  # type: ignore[misc]
                                 tar.fileobj, info.offset_data, info.size, self))

    # -- zip -------------------------------------------------------------------------------
    def _zip(self, display: str, base: tuple[str, ...], codec: str | None, content: BinaryIO,
             hops: tuple[Hop, ...], depth: int) -> None:
        seekable = content.seekable() if hasattr(content, "seekable") else False
        if not seekable:  # zip needs its central directory at the end: hold it in memory
            data = _read_exact(content, MAX_SPOOL + 1)
            if len(data) > MAX_SPOOL:
                raise InputError(f"zip archive inside a compressed stream is larger than "
                                 f"{MAX_SPOOL >> 20} MiB: unpack the outer archive first")
            content = io.BytesIO(data)
        with zipfile.ZipFile(content) as zf:
            declared = 0
            for info in zf.infolist():
                if info.is_dir():
                    continue
                from_cp437 = not info.flag_bits & 0x800
                where = f"{display}!/{_clean_name(info.filename, from_cp437).lstrip('/')}"
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    parts = member_parts(_clean_name(info.filename, from_cp437))
                    target = zf.read(info)[:4096].decode("utf-8", "replace")
                    if parts is None or _link_escapes(parts, target):
                        self.refused.append(Refusal(where, f"link to {target!r} points out of "
                                                           "the bundle, refused"))
                    continue
                if info.flag_bits & 0x1:
                    self.refused.append(Refusal(where, "encrypted entry, cannot be read"))
                    continue
                declared += info.file_size
                try:
                    check_expansion(info.file_size, info.compress_size, where)
                    check_expansion(declared, content_size(content), display)
                except BombError as exc:
                    self.refused.append(Refusal(where, exc.message))
                    continue
                hop = Hop(codec, "zip", info.filename, info.header_offset, info.compress_size)
                try:
                    self._member(display, base, info.filename, info.file_size,
                                 _zip_time(info), hop, hops, depth,
                                 lambda info=info, where=where: _ZipMember(  # type: ignore[misc]
                                     zf.open(info), None, info.compress_size, where),
                                 from_zip_cp437=from_cp437)
                except (NotImplementedError, zipfile.BadZipFile, zlib.error, RuntimeError,
                        EOFError) as exc:  # one damaged or unsupported entry, not the zip
                    self.refused.append(Refusal(where, f"cannot read this entry: {_why(exc)}"))


def stream_problem(stream: Any) -> str | None:
    """Why a stream (or one it reads from) ended early: truncated, corrupt."""
    for _ in range(16):
        if stream is None:
            return None
        problem = getattr(stream, "problem", None)
        if problem:
            return str(problem)
        stream = getattr(stream, "_stream", None) or getattr(stream, "_raw", None)
    return None


def content_size(stream: Any) -> int:
    try:
        pos = stream.tell()
        end = stream.seek(0, io.SEEK_END)
        stream.seek(pos)
        return int(end)
    except (OSError, AttributeError, ValueError):
        return 0


def _zip_time(info: zipfile.ZipInfo) -> float | None:
    from datetime import datetime

    try:
        return datetime(*info.date_time).timestamp()
    except ValueError:
        return None


def _why(exc: BaseException) -> str:
    text = str(exc) or exc.__class__.__name__
    return text[:200]


def list_archive(display: str, parts: tuple[str, ...], codec: str | None, kind: str,
                 content: BinaryIO) -> tuple[list[Entry], list[Refusal]]:
    """Every readable member of an archive (its decompressed ``content``, shown as
    ``display``), and every entry refused."""
    lister = Lister()
    lister.archive(display, parts, codec, kind, content, (), 1)
    return lister.entries, lister.refused


# ---- reading a member back ------------------------------------------------------------------

class _Cursor:
    """A decompressed, non-seekable container positioned at ``pos``, with the bytes just
    before ``pos`` kept in ``tail`` so the member whose head was just read can be read again."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.pos = 0
        self.tail = b""

    def start(self) -> int:
        return self.pos - len(self.tail)

    def read(self, size: int) -> bytes:
        data = self.stream.read(size)
        if data:
            self.pos += len(data)
            if len(data) >= _CURSOR_TAIL:
                self.tail = bytes(data[-_CURSOR_TAIL:])
            else:
                self.tail = self.tail[-(_CURSOR_TAIL - len(data)):] + data
        return data

    def skip_to(self, offset: int) -> None:
        while self.pos < offset:
            if not self.read(min(offset - self.pos, 1024 * 1024)):
                break


_KEY = tuple[str, str, tuple[Hop, ...]]


class _CursorCache:
    def __init__(self) -> None:
        self._items: list[tuple[_KEY, _Cursor]] = []
        self._lock = threading.Lock()

    def take(self, key: _KEY, offset: int) -> _Cursor | None:
        with self._lock:
            best = None
            for i, (k, cur) in enumerate(self._items):
                if k == key and cur.start() <= offset and (
                        best is None or cur.pos > self._items[best][1].pos):
                    best = i
            return self._items.pop(best)[1] if best is not None else None

    def give(self, key: _KEY, cursor: _Cursor) -> None:
        evicted = []
        with self._lock:
            self._items.append((key, cursor))
            while len(self._items) > _MAX_CURSORS:
                evicted.append(self._items.pop(0)[1])
        for old in evicted:  # outside the lock: closing a nested chain gives cursors back
            old.stream.close()

    def clear(self) -> None:
        with self._lock:
            items, self._items = self._items, []
        for _, cur in items:
            cur.stream.close()


    def forget(self) -> None:
        """In a forked child: the parent's cursors share file offsets with it, never use them."""
        self._items = []
        self._lock = threading.Lock()


CURSORS = _CursorCache()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=CURSORS.forget)


class _Window(io.RawIOBase):
    """``size`` bytes of a container starting at ``offset``: over a seekable stream by
    seeking, over a cursor by reading forward (and giving the cursor back when closed)."""

    def __init__(self, size: int, what: str, *, stream: BinaryIO | None = None,
                 offset: int = 0, cursor: _Cursor | None = None, key: _KEY | None = None
                 ) -> None:
        self._size, self._what = size, what
        self._stream, self._offset = stream, offset
        self._cursor, self._key = cursor, key
        self._pos = 0
        self._head = b""
        self.problem: str | None = None
        if cursor is not None:
            if offset < cursor.pos:
                self._head = cursor.tail[offset - cursor.start():][:size]
                if offset + len(self._head) < cursor.pos:  # cannot continue from here
                    raise OSError("archive cursor moved past the member")
            else:
                cursor.skip_to(offset)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._stream is not None and self._stream.seekable()

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        if not self.seekable():
            raise io.UnsupportedOperation("seek")
        target = {io.SEEK_SET: pos, io.SEEK_CUR: self._pos + pos, io.SEEK_END: self._size + pos}[
            whence]
        self._pos = max(0, min(target, self._size))
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        want = min(len(b), self._size - self._pos)
        if want <= 0:
            return 0
        if self._head:
            data = self._head[:want]
            self._head = self._head[len(data):]
        elif self._cursor is not None:
            data = self._cursor.read(want)
        else:
            assert self._stream is not None
            self._stream.seek(self._offset + self._pos)
            data = self._stream.read(want)
        if not data:
            self.problem = "archive ends inside this entry (truncated)"
            self._size = self._pos
            return 0
        n = len(data)
        b[:n] = data
        self._pos += n
        return n

    def close(self) -> None:
        if self.closed:
            return
        try:
            if self._cursor is not None and self._key is not None and self.problem is None:
                CURSORS.give(self._key, self._cursor)
            elif self._cursor is not None:
                self._cursor.stream.close()
            elif self._stream is not None:
                self._stream.close()
        finally:
            super().close()


class _ZipMember(io.RawIOBase):
    """A zip member, with its expansion checked against its compressed size as it is read."""

    def __init__(self, member: BinaryIO, owner: Any, compressed: int, what: str) -> None:
        self._member, self._owner = member, owner
        self._compressed, self._what = compressed, what
        self._produced = 0
        self.problem: str | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return bool(self._member.seekable())

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        return int(self._member.seek(pos, whence))

    def tell(self) -> int:
        return int(self._member.tell())

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        if self.problem:
            return 0
        try:
            data = self._member.read(len(b))
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:  # bad CRC, cut, corrupt
            self.problem = f"damaged zip entry ({_why(exc)})"
            return 0
        n = len(data)
        b[:n] = data
        self._produced += n
        check_expansion(self._produced, self._compressed, self._what)
        return n

    def close(self) -> None:
        if self.closed:
            return
        try:
            self._member.close()
            if self._owner is not None:
                self._owner.close()
        finally:
            super().close()


class _ZipOwner:
    """Closes a ZipFile and the stream it reads when its member is closed."""

    def __init__(self, zf: zipfile.ZipFile, stream: BinaryIO) -> None:
        self.zf, self.stream = zf, stream

    def close(self) -> None:
        try:
            self.zf.close()
        finally:
            self.stream.close()


def _enter(stream: BinaryIO, hop: Hop, key: _KEY, what: str) -> BinaryIO:
    """From the raw bytes of a container to the raw bytes of its member ``hop``."""
    decoded = open_decompressed(stream, hop.codec, what)
    if hop.container == "tar":
        if decoded.seekable():
            decoded.seek(hop.offset)
            return _Window(hop.size, what, stream=decoded, offset=hop.offset)  # type: ignore[return-value]
        return _Window(hop.size, what, cursor=_Cursor(decoded), offset=hop.offset,  # type: ignore[return-value]
                       key=key)
    if not decoded.seekable():
        data = _read_exact(decoded, MAX_SPOOL + 1)
        decoded.close()
        if len(data) > MAX_SPOOL:
            raise InputError(f"{what}: zip archive inside a compressed stream is larger than "
                             f"{MAX_SPOOL >> 20} MiB: unpack the outer archive first")
        decoded = io.BytesIO(data)
    zf = zipfile.ZipFile(decoded)
    info = next((i for i in zf.infolist() if i.header_offset == hop.offset), None)
    if info is None:
        zf.close()
        decoded.close()
        raise InputError(f"{what}: entry {hop.member!r} is no longer in the archive")
    return _ZipMember(zf.open(info), _ZipOwner(zf, decoded), info.compress_size, what)  # type: ignore[return-value]


def open_hops(path: Path, stamp: str, hops: tuple[Hop, ...], what: str) -> BinaryIO:
    """The raw bytes of the member at the end of ``hops`` inside the file at ``path``."""
    start, stream = 0, None
    for i in range(len(hops) - 1, -1, -1):  # the deepest container with a usable cursor
        hop = hops[i]
        key = (str(path), stamp, hops[:i])
        if hop.container != "tar":
            continue
        cursor = CURSORS.take(key, hop.offset)
        if cursor is not None:
            try:
                stream = _Window(hop.size, what, cursor=cursor, offset=hop.offset, key=key)
            except OSError:
                cursor.stream.close()
                continue
            start = i + 1
            break
    if stream is None:
        stream = open(path, "rb")  # noqa: SIM115 - closed by the caller through the chain
    try:
        for i in range(start, len(hops)):
            stream = _enter(stream, hops[i], (str(path), stamp, hops[:i]), what)
    except BaseException:
        stream.close()
        raise
    return stream
