"""Ingest stage: stream a source as byte chunks that end at line boundaries.

Never buffers a whole file: reads 8 MiB blocks into chunks cut after the last newline. A line
longer than MAX_LINE is cut, its tail skipped up to the next newline, and the cut is counted.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from reformdiag.ingest.discover import Source

BLOCK = 8 * 1024 * 1024
MAX_LINE = 1024 * 1024  # longer lines are truncated with a note, never buffered whole
HEAD_BYTES = 64 * 1024


@dataclass(slots=True)
class ReadStats:
    """What happened while reading, for the file's notes."""

    bytes_read: int = 0
    truncated_lines: int = 0
    problem: str | None = None  # set when the stream ended early (truncated gzip...)
    notes: list[str] = field(default_factory=list)


def open_source(source: Source) -> BinaryIO:
    """Open a source for binary reading, decompressing on the fly."""
    if source.compression == "gz":
        return gzip.open(source.path, "rb")  # type: ignore[return-value]
    return open(source.path, "rb")


def read_head(source: Source, size: int = HEAD_BYTES) -> bytes:
    """The first ``size`` bytes (decompressed), for sniffing. May raise OSError."""
    with open_source(source) as handle:
        try:
            return handle.read(size)
        except (EOFError, zlib.error, gzip.BadGzipFile):
            return b""


def read_chunks(source: Source, stats: ReadStats, block: int = BLOCK) -> Iterator[bytes]:
    """Yield chunks that end with a newline (except possibly the last one)."""
    pending = b""
    skipping = False  # inside the tail of an over-long line
    with open_source(source) as handle:
        while True:
            try:
                data = handle.read(block)
            except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
                stats.problem = f"compressed stream is truncated or corrupt ({exc.__class__.__name__})"
                data = b""
            if not data:
                break
            stats.bytes_read += len(data)
            if skipping:
                cut = data.find(b"\n")
                if cut < 0:
                    continue
                data = data[cut + 1:]
                skipping = False
            buf = pending + data if pending else data
            last_nl = buf.rfind(b"\n")
            if last_nl < 0:
                if len(buf) > MAX_LINE:
                    # One huge line without a newline yet: keep its head, skip the rest.
                    yield buf[:MAX_LINE] + b"\n"
                    stats.truncated_lines += 1
                    pending, skipping = b"", True
                else:
                    pending = buf
                continue
            chunk, pending = buf[: last_nl + 1], buf[last_nl + 1:]
            if len(pending) > MAX_LINE:
                yield chunk
                yield pending[:MAX_LINE] + b"\n"
                stats.truncated_lines += 1
                pending, skipping = b"", True
                continue
            yield chunk
    if pending:
        yield pending
