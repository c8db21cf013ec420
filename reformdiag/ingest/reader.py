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

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

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


def _readinto(handle: BinaryIO, view: memoryview) -> int:
    if hasattr(handle, "readinto"):
        return handle.readinto(view) or 0
    data = handle.read(len(view))
    view[: len(data)] = data
    return len(data)


def read_chunks(source: Source, stats: ReadStats, block: int = BLOCK) -> Iterator[memoryview]:
    """Yield chunks that end with a newline (except possibly the last one).

    One buffer is allocated per file and reused: fresh 8 MiB pages cost more than scanning
    them. A chunk is a view into that buffer, valid until the next one is requested; the
    consumer copies out what it keeps.
    """
    buf = bytearray(block + MAX_LINE + 1)
    view = memoryview(buf)
    fill = 0  # bytes of an unfinished line kept at the front of buf
    skipping = False  # inside the tail of an over-long line
    with open_source(source) as handle:
        while True:
            n = _readinto(handle, view[fill:fill + block])
            problem = getattr(handle, "problem", None)
            if problem:
                stats.problem = problem
            if n == 0:
                break
            stats.bytes_read += n
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
