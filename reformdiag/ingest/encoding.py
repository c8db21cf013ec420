"""Ingest stage: bytes to text for lines that are not UTF-8.

Logs are UTF-8, but a server with a Chinese locale writes GB18030, and a client's statement
can carry Latin-1 bytes into a UTF-8 log (a table named ``clientes_año``). GB18030 decodes
almost any bytes: it reads a Latin-1 letter and the ASCII letter after it as one Chinese
character, so ``año`` would lose its ``o``. A GB18030 reading is kept when it looks like
Chinese: most of its two-byte characters have a second byte of 0x80 or more, as the common
(GB2312) characters all do. Otherwise bytes of the Latin-1 letter range are read as Latin-1,
and anything else has its bad bytes replaced.
"""

from __future__ import annotations

import codecs
import re

UTF8, GB18030, LATIN1, REPLACED = "utf-8", "gb18030", "latin-1", "replaced"
_C1 = re.compile(rb"[\x80-\x9f]")  # C1 controls: not Latin-1 text


def decode_text(raw: bytes, final: bool = True) -> tuple[str, str]:
    """(text, how it was read): UTF8, GB18030, LATIN1 or REPLACED. ``final=False``: ``raw``
    may end inside a character (a file's head), which is then left out."""
    try:
        return _decode(raw, "utf-8", final), UTF8
    except UnicodeDecodeError:
        pass
    try:
        text: str | None = _decode(raw, "gb18030", final)
    except UnicodeDecodeError:
        text = None
    if text is not None and _reads_as_chinese(text):
        return text, GB18030
    if _C1.search(raw) is None:
        return raw.decode("latin-1"), LATIN1
    return raw.decode("utf-8", errors="replace"), REPLACED


def _decode(raw: bytes, encoding: str, final: bool) -> str:
    if final:  # every kept record comes here: bytes.decode is the fast way
        return raw.decode(encoding)
    return codecs.getincrementaldecoder(encoding)().decode(raw, final=False)


def _reads_as_chinese(text: str) -> bool:
    """More GB2312-like characters than characters that swallowed an ASCII byte (a second
    byte below 0x80, or a four-byte sequence, whose second and fourth bytes are digits)."""
    good = bad = 0
    for ch in text:
        if ch < "\x80":
            continue
        code = ch.encode("gb18030")
        if len(code) == 2 and code[1] >= 0x80:
            good += 1
        else:
            bad += 1
    return good > bad


# what a file's note says, judged on its head (each record is read on its own)
FILE_NOTES = {
    GB18030: "not valid UTF-8: lines read as GB18030",
    LATIN1: "not valid UTF-8: lines that are not UTF-8 read as Latin-1",
    REPLACED: "not valid UTF-8: undecodable bytes replaced",
}
# what is counted per record
NOTES = {
    GB18030: "records decoded as GB18030 (not valid UTF-8)",
    LATIN1: "records decoded as Latin-1 (neither UTF-8 nor Chinese GB18030)",
    REPLACED: "undecodable bytes replaced",
}
