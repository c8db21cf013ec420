"""Ingest stage: stream a source as byte chunks that end at line boundaries.

Never buffers a whole file: reads 8 MiB blocks into chunks cut after the last newline. A line
longer than MAX_LINE is cut, its tail skipped up to the next newline, and the cut is counted.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
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


class GzipStream(io.RawIOBase):
    """A forgiving gzip reader: yields everything decompressible, even from a truncated or
    corrupt file (``gzip.open`` raises and loses the last buffer), and concatenated members.
    ``problem`` says what went wrong, if anything."""

    def __init__(self, path: Path) -> None:
        self._raw = open(path, "rb")  # noqa: SIM115 - closed in close()
        self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._out = b""
        self._done = False
        self.problem: str | None = None

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._out) < size):
            data = self._raw.read(256 * 1024)
            try:
                if not data:
                    if not self._z.eof:
                        self.problem = "compressed stream is truncated"
                    self._out += self._z.flush()
                    self._done = True
                    break
                self._out += self._z.decompress(data)
                while self._z.eof and self._z.unused_data:  # next gzip member
                    rest = self._z.unused_data
                    self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    self._out += self._z.decompress(rest)
            except zlib.error as exc:
                self.problem = f"compressed stream is corrupt ({exc})"
                self._done = True
        if size < 0:
            out, self._out = self._out, b""
        else:
            out, self._out = self._out[:size], self._out[size:]
        return out

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_source(source: Source) -> BinaryIO:
    """Open a source for binary reading, decompressing on the fly."""
    if source.compression == "gz":
        return GzipStream(source.path)  # type: ignore[return-value]
    return open(source.path, "rb")


def read_head(source: Source, size: int = HEAD_BYTES) -> bytes:
    """The first ``size`` bytes (decompressed), for sniffing. May raise OSError."""
    with open_source(source) as handle:
        return handle.read(size)


def read_chunks(source: Source, stats: ReadStats, block: int = BLOCK) -> Iterator[bytes]:
    """Yield chunks that end with a newline (except possibly the last one)."""
    pending = b""
    skipping = False  # inside the tail of an over-long line
    with open_source(source) as handle:
        while True:
            data = handle.read(block)
            problem = getattr(handle, "problem", None)
            if problem:
                stats.problem = problem
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
