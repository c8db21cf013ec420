"""Ingest stage: decompress gzip, bzip2 and xz as streams, forgivingly and within limits.

A bundle arrives with half-copied ``.gz`` files and, now and then, something hostile. So:

* the codec is decided by the magic bytes, not the file name (a rotated ``dms.rlog.1`` may be
  gzip, a ``.gz`` may be plain text);
* a truncated or corrupt stream yields everything before the damage and says what happened
  (``gzip.open`` raises and loses its last buffer);
* concatenated members (``cat a.gz b.gz``, pigz, multi-stream xz) are read one after another;
* output is produced in bounded pieces (``max_length``), never a whole member at once, and the
  expansion is counted while streaming: past ``RATIO_FLOOR`` bytes, more than ``MAX_RATIO``
  times the compressed input, or more than ``MAX_EXPANDED`` bytes in all, the stream is refused
  with :class:`BombError` (a decompression bomb: 1 MB of gzip can hold 1 GB of zeros).
"""

from __future__ import annotations

import bz2
import io
import lzma
import zlib
from typing import BinaryIO

from reformdiag.errors import InputError

# Real logs compress 5-30x (timestamps differ on every line); deflate tops out at ~1030x on
# zeros and bzip2/xz go far higher, so 200x over at least 64 MiB is a bomb, not a log.
MAX_RATIO = 200
RATIO_FLOOR = 64 * 1024 * 1024
MAX_EXPANDED = 64 * 1024 ** 3
RAW_BLOCK = 256 * 1024

MAGIC: dict[str, bytes] = {"gz": b"\x1f\x8b", "bz2": b"BZh", "xz": b"\xfd7zXZ\x00"}
SUFFIXES: dict[str, tuple[str, ...]] = {"gz": (".gz",), "bz2": (".bz2",), "xz": (".xz",)}


class BombError(InputError):
    """A compressed stream (or archive member) expands past the limits: refused."""


def codec_of(head: bytes) -> str | None:
    """The compression a stream starts with, from its magic bytes (``None``: not compressed).

    >>> codec_of(b"\\x1f\\x8b\\x08\\x00"), codec_of(b"BZh91AY"), codec_of(b"2024-07-25 09:34")
    ('gz', 'bz2', None)
    """
    for codec, magic in MAGIC.items():
        if head.startswith(magic):
            if codec == "bz2" and (len(head) < 4 or not 0x31 <= head[3] <= 0x39):
                continue  # "BZh" must be followed by the block size digit 1-9
            return codec
    return None


def strip_suffix(name: str, codec: str | None) -> str:
    """``dms.rlog.gz`` -> ``dms.rlog`` when the content is gzip; other names unchanged."""
    for suffix in SUFFIXES.get(codec or "", ()):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def check_expansion(produced: int, consumed: int, what: str) -> None:
    """Refuse a stream that has expanded past the limits (see the module docstring)."""
    if produced > MAX_EXPANDED:
        raise BombError(f"{what}: refused, expands past {MAX_EXPANDED >> 30} GiB "
                        "(decompression bomb?)")
    if produced > RATIO_FLOOR and produced > MAX_RATIO * max(consumed, 1):
        raise BombError(f"{what}: refused, expands more than {MAX_RATIO} times its compressed "
                        f"size ({produced >> 20} MiB from {max(consumed, 1) >> 10} KiB): "
                        "decompression bomb?")


def _decompressor(codec: str):  # type: ignore[no-untyped-def]
    if codec == "gz":
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if codec == "bz2":
        return bz2.BZ2Decompressor()
    if codec == "xz":
        return lzma.LZMADecompressor()
    raise ValueError(f"unknown codec {codec!r}")


class DecompressStream(io.RawIOBase):
    """Decompressed bytes of ``raw`` (see the module docstring). ``problem`` says why the
    stream ended early (truncated, corrupt), ``note`` what was ignored after its end."""

    def __init__(self, raw: BinaryIO, codec: str, what: str = "compressed stream") -> None:
        self._raw = raw
        self.codec = codec
        self.what = what
        self._d = _decompressor(codec)
        self._pending = b""  # compressed input not yet handed to the decompressor
        self._out = b""
        self._out_pos = 0
        self._done = False
        self._raw_eof = False
        self.consumed = 0  # compressed bytes read from raw
        self.produced = 0  # decompressed bytes produced
        self.problem: str | None = None
        self.note: str | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        want = len(b)
        if want == 0:
            return 0
        while self._out_pos >= len(self._out):
            if self._done:
                return 0
            self._out, self._out_pos = self._step(max(want, 64 * 1024)), 0
        n = min(want, len(self._out) - self._out_pos)
        b[:n] = self._out[self._out_pos:self._out_pos + n]
        self._out_pos += n
        return n

    def _read_raw(self) -> bytes:
        if self._raw_eof:
            return b""
        data = self._raw.read(RAW_BLOCK)
        if not data:
            self._raw_eof = True
        self.consumed += len(data)
        return data

    def _step(self, limit: int) -> bytes:
        """Produce up to ``limit`` bytes (possibly none, e.g. at a member boundary)."""
        d = self._d
        try:
            if d.eof:
                return self._next_member()
            if self.codec == "gz":
                data = d.unconsumed_tail or self._pending or self._read_raw()
                self._pending = b""
            elif d.needs_input:
                data = self._pending or self._read_raw()
                self._pending = b""
            else:
                data = b""  # bz2/lzma still hold buffered output
            if not data and (self.codec == "gz" or d.needs_input):
                self._done = True
                self.problem = "compressed stream is truncated"
                return d.flush() if self.codec == "gz" else b""
            out = d.decompress(data, limit)
        except (zlib.error, OSError, EOFError, lzma.LZMAError) as exc:
            self._done = True
            self.problem = f"compressed stream is corrupt ({exc})"
            return b""
        self.produced += len(out)
        check_expansion(self.produced, self.consumed, self.what)
        return out

    def _next_member(self) -> bytes:
        rest = self._d.unused_data
        magic = MAGIC[self.codec]
        while len(rest) < len(magic) + 1:
            more = self._read_raw()
            if not more:
                break
            rest += more
        if self.codec == "xz":
            rest = rest.lstrip(b"\x00")  # stream padding between xz streams
        if rest[: len(magic)] == magic:
            self._d = _decompressor(self.codec)
            self._pending = rest
            return b""
        self._done = True
        if rest.strip(b"\x00") or (rest and not self._raw_eof):
            self.note = "bytes after the end of the compressed data were ignored"
        return b""

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def open_decompressed(raw: BinaryIO, codec: str | None, what: str) -> BinaryIO:
    """``raw`` itself when not compressed, else a :class:`DecompressStream` over it."""
    if codec is None:
        return raw
    return DecompressStream(raw, codec, what)  # type: ignore[return-value]
