"""Parse stage helper: read the wall-clock timestamps the formats print, tolerantly.

>>> read_timestamp("2024-07-25 09:37:17.4")
(datetime.datetime(2024, 7, 25, 9, 37, 17, 4000), '')
>>> read_timestamp("2024-10-24 10:49:49.o24")
(datetime.datetime(2024, 10, 24, 10, 49, 49, 24000), 'milliseconds read through OCR damage')
>>> read_timestamp("2024-10-21 11:46:25.node1")[1]
'milliseconds unreadable, dropped'
"""

from __future__ import annotations

from datetime import datetime

# OCR confuses these letters with digits in published logs (".o24" in case OG-C07).
_OCR_DIGITS = str.maketrans({"o": "0", "O": "0", "l": "1", "I": "1"})


def read_timestamp(text: str) -> tuple[datetime | None, str]:
    """Return (naive wall-clock time, note) for ``YYYY-MM-DD HH:MM:SS[.fff]``.

    The reaper prints unpadded milliseconds (``.4`` is 4 ms, formats.md 1.5), so the fraction
    is read as milliseconds, never as a decimal fraction of a second.
    """
    text = text.strip()
    base, _, frac = text.partition(".")
    try:
        moment = datetime(
            int(base[0:4]), int(base[5:7]), int(base[8:10]),
            int(base[11:13]), int(base[14:16]), int(base[17:19]),
        )
    except (ValueError, IndexError):
        return None, "timestamp unreadable"
    if not frac:
        return moment, ""
    note = ""
    if not frac.isdigit():
        fixed = frac.translate(_OCR_DIGITS)
        if fixed.isdigit() and len(fixed) <= 3:
            frac, note = fixed, "milliseconds read through OCR damage"
        else:
            return moment, "milliseconds unreadable, dropped"
    if len(frac) > 3:
        return moment.replace(microsecond=int(frac[:6].ljust(6, "0"))), note
    return moment.replace(microsecond=int(frac) * 1000), note
