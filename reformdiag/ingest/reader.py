"""Ingest stage: stream a source as byte chunks that end at line boundaries.

Never buffers a whole file: reads 4 MiB blocks into chunks cut after the last newline. A line
longer than MAX_LINE is cut, its tail skipped up to the next newline, and the cut is counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from reformdiag.errors import InputError
from reformdiag.ingest.archive import open_hops, stream_problem
from reformdiag.ingest.compression import open_decompressed
from reformdiag.ingest.discover import Source

BLOCK = 4 * 1024 * 1024
MAX_LINE = 1024 * 1024  # longer lines are truncated with a note, never buffered whole
HEAD_BYTES = 64 * 1024
# Room for the unfinished line carried to the front of the buffer. A longer one gets a bigger
# buffer when it comes: reserving MAX_LINE up front cost 1 MiB per open file, and
# `timeline --all` holds every file of the bundle open at once.
SLACK = 64 * 1024


@dataclass(slots=True)
class ReadStats:
    """What happened while reading (the pipeline turns it into the file's notes)."""

    bytes_read: int = 0
    truncated_lines: int = 0
    problem: str | None = None  # set when the stream ended early (truncated gzip...)
    nul_bytes: int = 0  # NUL bytes dropped (zero padding left by a crash)


def open_source(source: Source) -> BinaryIO:
    """Open a source for binary reading: into its archive, decompressing on the fly
    (gzip, bzip2, xz; forgiving and bomb-checked, see ``compression``). May raise OSError,
    and InputError for a refused (bomb) stream."""
    if source.hops:
        raw = open_hops(source.path, source.stamp, source.hops, source.display)
    else:
        raw = open(source.path, "rb")  # noqa: SIM115 - closed through the returned stream
    return open_decompressed(raw, source.compression, source.display)


BOM = b"\xef\xbb\xbf"  # the UTF-8 byte order mark Windows editors write first


def read_head(source: Source, size: int = HEAD_BYTES) -> bytes:
    """The first ``size`` bytes (decompressed), for sniffing. May raise OSError, and
    InputError when a compressed stream is too damaged to give a single byte."""
    parts: list[bytes] = []
    got = 0
    with open_source(source) as handle:
        while got < size:  # a decompressing stream may hand out less than asked
            data = handle.read(size - got)
            if not data:
                break
            parts.append(data)
            got += len(data)
        problem = None if parts else stream_problem(handle)
    if problem:
        raise InputError(f"{problem}: nothing could be read")
    head = b"".join(parts)
    return head[len(BOM):] if head.startswith(BOM) else head


def _readinto(handle: BinaryIO, view: memoryview) -> int:
    if hasattr(handle, "readinto"):
        return handle.readinto(view) or 0
    data = handle.read(len(view))
    view[: len(data)] = data
    return len(data)


def read_chunks(source: Source, stats: ReadStats, block: int = BLOCK,
                span: tuple[int, int] | None = None) -> Iterator[memoryview]:
    """Yield chunks that end with a newline (except possibly the last one).

    One buffer is allocated per file and reused: fresh 4 MiB pages cost more than scanning
    them (it grows, once, if a line longer than SLACK is carried over). A chunk is a view into
    that buffer, valid until the next one is requested; the consumer copies out what it keeps.
    ``span`` (start, end): only those bytes of a plain file (a segment cut at a line start by
    ``ingest.split``).
    """
    if not source.hops and source.compression is None:  # a small file, a small buffer
        block = max(64 * 1024, min(block, source.size + 1))
    buf = bytearray(block + SLACK)
    view = memoryview(buf)
    fill = 0  # bytes of an unfinished line kept at the front of buf
    skipping = False  # inside the tail of an over-long line
    left = -1  # bytes of the span still to read (-1: to the end)
    at_start = span is None or span[0] == 0  # where a byte order mark may be
    with open_source(source) as handle:
        if span is not None:
            handle.seek(span[0])
            left = span[1] - span[0]
        while True:
            want = block if left < 0 else min(block, left)
            if fill + want > len(buf):  # a long unfinished line: a new buffer (old views stay)
                grown = bytearray(block + MAX_LINE + 1)
                grown[:fill] = view[:fill]
                buf, view = grown, memoryview(grown)
            n = _readinto(handle, view[fill:fill + want]) if want else 0
            left = left - n if left >= 0 else left
            problem = getattr(handle, "problem", None)
            if problem:
                stats.problem = problem
            if n == 0:
                break
            stats.bytes_read += n
            if at_start:  # a file saved by a Windows editor: its BOM would hide line 1's start
                at_start = False
                if bytes(view[:min(n, len(BOM))]) == BOM:
                    view[0:n - len(BOM)] = view[len(BOM):n]
                    n -= len(BOM)
            if buf.find(b"\x00", fill, fill + n) >= 0:  # crash padding: drop NULs, keep lines
                clean = bytes(view[fill:fill + n]).replace(b"\x00", b"")
                view[fill:fill + len(clean)] = clean
                stats.nul_bytes += n - len(clean)
                n = len(clean)
            if skipping:
                cut = buf.find(b"\n", fill, fill + n)
                if cut < 0:
                    continue
                rest = fill + n - (cut + 1)
                view[0:rest] = view[cut + 1:fill + n]
                fill, skipping = rest, False
            else:
                fill += n
            last_nl = buf.rfind(b"\n", 0, fill)
            if last_nl < 0:
                if fill > MAX_LINE:
                    # One huge line without a newline yet: keep its head, skip the rest.
                    yield memoryview(bytes(view[:MAX_LINE]) + b"\n")
                    stats.truncated_lines += 1
                    fill, skipping = 0, True
                continue
            yield view[: last_nl + 1]
            rest = fill - (last_nl + 1)
            if rest > MAX_LINE:
                yield memoryview(bytes(view[last_nl + 1:last_nl + 1 + MAX_LINE]) + b"\n")
                stats.truncated_lines += 1
                fill, skipping = 0, True
                continue
            view[0:rest] = view[last_nl + 1:fill]
            fill = rest
    if fill:
        yield view[:fill]
