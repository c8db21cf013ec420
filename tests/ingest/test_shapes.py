"""Record-start shapes: the word-at-a-time check agrees with a plain byte-by-byte reading."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from reformdiag.ingest.shapes import StartShapes

SHAPES = [
    (b"####-##-## ##:##:##",),
    (b"####-##-## ##:##:##", b"first-round reform failed", b"Gaussdb exit code"),
    (b"####-##-## ##:##:##", b"tid="),
    (b"??? ?# ##:##:##",),
    (b"[####-##-## ##:##:##.",),
    (b"#",),
    (b"UTC+", b"UTC-", b"UTC0"),
]
# Real record starts and near misses from the reference (collapsed spaces, OCR damage).
LINES = [
    b"2024-09-19 17:03:20.615 openGauss111 [DMS] LOG:  x",
    b"2024-09-19 17:03:2O.615 OCR damage: letter O for a zero",
    b"2024-09-1917:03:20 collapsed space",
    b"first-round reform failed, exit",
    b"Gaussdb exit code 1",
    b"tid=140 cm_agent",
    b"Sep 19 17:03:20 host corosync[1]: [TOTEM ] A new membership",
    b"Sep  9 17:03:20 host kernel",
    b"[2024-09-19 17:03:20.615123] INFO  [ELECT]",
    b"UTC+8 2024-09-19 17:03:20.615|DMS|",
    b"UTC0 x",
    b"\tcontinued",
    b"",
    b"7",
    b"2024-",
    b"2024-09-19 17:03:2",
    b"\x00\xff\xfe garbage",
    b"2024:09:19 17-03-20 separators swapped",
    # the bytes just outside the digits: '/' before '0', ':' after '9'
    b"2024-09-19 17:03:2:",
    b"/024-09-19 17:03:20 x",
    b"2024-09-19 1:/03:20 x",
    b"Sep 1: 17:03:20 host",
]


def _reference(shapes: tuple[bytes, ...], line: bytes) -> bool:
    """``line`` (newline included) starts with one of ``shapes``; ``#`` a digit, ``?`` any."""
    for shape in shapes:
        if len(line) >= len(shape) and all(
                48 <= c <= 57 if s == ord("#") else s in (ord("?"), c)
                for s, c in zip(shape, line, strict=False)):
            return True
    return False


def _check(shapes: tuple[bytes, ...], lines: list[bytes], offset: int) -> None:
    data = b"".join(line + b"\n" for line in lines)
    # ``offset`` bytes before the chunk: an unaligned buffer takes the fallback path
    buf = memoryview(bytearray(b"x" * offset + data))[offset:]
    starts = np.array([0, *np.cumsum([len(li) + 1 for li in lines])[:-1]], dtype=np.int64) \
        if lines else np.zeros(0, dtype=np.int64)
    lengths = np.array([len(li) + 1 for li in lines], dtype=np.int64)
    got = StartShapes(shapes).match(buf, starts, lengths).tolist() if lines else []
    assert got == [_reference(shapes, li + b"\n") for li in lines]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SHAPES), st.lists(st.sampled_from(LINES), max_size=30),
       st.integers(0, 7))
def test_word_check_agrees_with_bytes(shapes: tuple[bytes, ...], lines: list[bytes],
                                      offset: int) -> None:
    _check(shapes, lines, offset)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=30).filter(lambda b: b"\n" not in b), max_size=20),
       st.integers(0, 7))
def test_any_bytes(lines: list[bytes], offset: int) -> None:
    for shapes in SHAPES:
        _check(shapes, lines, offset)


def test_every_digit_is_checked() -> None:
    ts = StartShapes((b"####-##-## ##:##:##",))
    assert ts.match_line(b"2024-09-19 17:03:20 x\n")
    for i in (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18):
        damaged = bytearray(b"2024-09-19 17:03:20 x\n")
        damaged[i] = ord("O")
        assert not ts.match_line(bytes(damaged)), i
