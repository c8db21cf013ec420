"""Parse stage helper: read the wall-clock timestamps the formats print, tolerantly.

>>> read_timestamp("2024-07-25 09:37:17.4")
(datetime.datetime(2024, 7, 25, 9, 37, 17, 4000), '')
>>> read_timestamp("2024-10-24 10:49:49.o24")
(datetime.datetime(2024, 10, 24, 10, 49, 49, 24000), 'milliseconds read through OCR damage')
>>> read_timestamp("2024-10-21 11:46:25.node1")[1]
'milliseconds unreadable, dropped'

Formats whose stamps are not ISO name their strptime formats in the spec; a stamp without a
year (RFC 3164 syslog) is read in a placeholder leap year and says so, and the timeline stage
sets the year (``timeline/relative.py``):

>>> read_timestamp("Jul  4 09:56:59", ("%b %d %H:%M:%S",))
(datetime.datetime(2000, 7, 4, 9, 56, 59), 'year not in the log')
>>> read_timestamp("Saturday 13 May 2017 - 17:27:22", ("%A %d %B %Y - %H:%M:%S",))
(datetime.datetime(2017, 5, 13, 17, 27, 22), '')
"""

from __future__ import annotations

from datetime import datetime

# OCR confuses these letters with digits in published logs (".o24" in case OG-C07).
_OCR_DIGITS = str.maketrans({"o": "0", "O": "0", "l": "1", "I": "1"})
# Note on a time read without its year; the timeline stage replaces the placeholder year.
YEAR_MISSING = "year not in the log"
# A leap year, so that a year-less "Feb 29" still reads.
PLACEHOLDER_YEAR = 2000


def read_timestamp(text: str, formats: tuple[str, ...] = ()) -> tuple[datetime | None, str]:
    """Return (naive wall-clock time, note) for ``YYYY-MM-DD HH:MM:SS[.fff]``, else for the
    first of ``formats`` (strptime) that reads the text.

    The reaper prints unpadded milliseconds (``.4`` is 4 ms, formats.md 1.5), so the fraction
    is read as milliseconds, never as a decimal fraction of a second.
    """
    global _last
    text = text.strip()
    last = _last  # one read of one tuple: safe if threads (Dask workers) parse at once
    if text == last[0] and formats == last[1]:
        return last[2]  # lines of one millisecond (an RHB matrix) share one datetime
    if (len(text) == 23 and text.find(".") == 19 and text[4] == "-" and text[7] == "-"
            and text[13] == ":" and text[16] == ":" and text[20:].isdigit()):
        # The common case (``2024-09-19 17:14:37.354``, every kept pg_log and CM record) in
        # C: the fields ``_read_iso`` reads, at a quarter of the cost.
        try:
            result: tuple[datetime | None, str] = (datetime.fromisoformat(text), "")
        except ValueError:
            result = _read_iso(text, formats)
    else:
        result = _read_iso(text, formats)
    _last = (text, formats, result)
    return result


# The last text read and its result (datetimes are immutable, so sharing one is safe).
_last: tuple[str | None, tuple[str, ...] | None, tuple[datetime | None, str]] = (
    None, None, (None, ""))  # matches no text


def _read_iso(text: str, formats: tuple[str, ...]) -> tuple[datetime | None, str]:
    base, _, frac = text.partition(".")
    try:
        moment = datetime(
            int(base[0:4]), int(base[5:7]), int(base[8:10]),
            int(base[11:13]), int(base[14:16]), int(base[17:19]),
        )
    except (ValueError, IndexError):
        return _read_with(text, formats)
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


def _read_with(text: str, formats: tuple[str, ...]) -> tuple[datetime | None, str]:
    for fmt in formats:
        has_year = "%Y" in fmt or "%y" in fmt
        try:
            if has_year:
                return datetime.strptime(text, fmt), ""
            return datetime.strptime(f"{PLACEHOLDER_YEAR} {text}", "%Y " + fmt), YEAR_MISSING
        except ValueError:
            continue
    return None, "timestamp unreadable"
