"""Ingest stage: decide a file's format from its content (file names are only a hint)."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

SNIFF_LINES = 400


@dataclass(frozen=True, slots=True)
class Candidate:
    """What sniffing needs to know about one format."""

    id: str
    detect: re.Pattern[str]
    globs: tuple[str, ...] = ()
    document: bool = False  # one title line anywhere in the head identifies the whole file


@dataclass(slots=True)
class Verdict:
    format: str | None
    reason: str  # why not recognised, or which evidence decided
    score: float = 0.0


def looks_binary(head: bytes) -> bool:
    """NUL bytes or mostly non-text bytes in the head: not a log we can read."""
    if not head:
        return False
    sample = head[:8192]
    if sample.count(0) > len(sample) // 100:
        return True
    # control characters other than TAB, LF, CR, ESC: rare in logs, common in binaries
    controls = sum(1 for b in sample if b < 0x20 and b not in (9, 10, 13, 27))
    return controls > len(sample) // 20


def decode_head(head: bytes) -> str:
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError:
        return head.decode("gb18030", errors="replace")


def sniff(head: bytes, display: str, candidates: list[Candidate]) -> Verdict:
    """Pick the format whose ``detect`` pattern matches most of the first lines.

    Ties go to the format whose file globs match ``display``. A file needs at least one
    matching line and a third of its non-blank lines matching (or two thirds of a tiny file).
    """
    if not head.strip():
        return Verdict(None, "empty file")
    if looks_binary(head):
        return Verdict(None, "binary data, not a text log")
    text = decode_head(head)
    lines = [ln for ln in text.splitlines()[:SNIFF_LINES] if ln.strip()]
    if len(head) >= 64 * 1024 and lines:
        lines = lines[:-1]  # the head may end mid-line
    best: tuple[float, int, str] | None = None
    for cand in candidates:
        if cand.document:
            hits = 1 if cand.detect.search(text) else 0
            ratio = 1.0
        else:
            hits = sum(1 for ln in lines if cand.detect.search(ln))
            ratio = hits / max(len(lines), 1)
        if hits == 0:
            continue
        by_name = int(any(fnmatch.fnmatch(display, g) for g in cand.globs))
        key = (ratio, by_name, cand.id)
        if best is None or key[:2] > best[:2]:
            best = key
    if best is None:
        return Verdict(None, "no known format matches its first lines")
    ratio = best[0]
    if ratio < 0.3:
        return Verdict(None, f"only {ratio:.0%} of its first lines look like {best[2]}")
    return Verdict(best[2], f"{ratio:.0%} of the first lines match", ratio)
