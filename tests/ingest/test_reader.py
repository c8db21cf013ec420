"""The reader: chunks end at line boundaries, long unfinished lines are carried (the buffer
grows for them), lines over MAX_LINE are cut and counted, nothing else changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from reformdiag.ingest.discover import discover
from reformdiag.ingest.reader import MAX_LINE, SLACK, ReadStats, read_chunks

BLOCK = 64 * 1024  # the smallest block the reader takes for a plain file


def _read(path: Path, block: int) -> tuple[list[bytes], ReadStats]:
    sources, _ = discover([path])
    stats = ReadStats()
    return [bytes(c) for c in read_chunks(sources[0], stats, block=block)], stats


@pytest.mark.parametrize("trailing_newline", [True, False])
def test_long_lines_cross_blocks_whole(tmp_path: Path, trailing_newline: bool) -> None:
    lengths = [10, SLACK - 1, SLACK, SLACK + 1, 3 * BLOCK + 5, 7, MAX_LINE - 1, 20,
               BLOCK - 1, BLOCK, 2 * SLACK + 3, 1]
    lines = [bytes([97 + i % 26]) * n for i, n in enumerate(lengths)]
    data = b"\n".join(lines) + (b"\n" if trailing_newline else b"")
    path = tmp_path / "long.log"
    path.write_bytes(data)
    chunks, stats = _read(path, BLOCK)
    assert b"".join(chunks) == data
    assert all(c.endswith(b"\n") for c in chunks[:-1])
    assert stats.truncated_lines == 0 and stats.bytes_read == len(data)


def test_a_line_over_max_line_is_cut_once(tmp_path: Path) -> None:
    data = b"head\n" + b"x" * (MAX_LINE + SLACK) + b"\ntail\n"
    path = tmp_path / "huge.log"
    path.write_bytes(data)
    chunks, stats = _read(path, BLOCK)
    assert b"".join(chunks) == b"head\n" + b"x" * MAX_LINE + b"\ntail\n"
    assert stats.truncated_lines == 1


def test_a_byte_order_mark_hides_nothing(tmp_path: Path) -> None:
    """Files saved by a Windows editor start with a UTF-8 BOM: it hid line 1's timestamp (the
    first record became an orphan line), key_event logs and cm_ctl query output were not
    recognised at all. With a BOM on every file the analysis is the same but for the sizes."""
    import gzip
    import shutil

    from reformdiag.pipeline import analyse

    sample = Path(__file__).resolve().parents[2] / "samples/healthy_opengauss_switchover/bundle"
    bundle = tmp_path / "bundle"
    shutil.copytree(sample, bundle)
    for path in sorted(p for p in bundle.rglob("*") if p.is_file()):
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    dms = next(bundle.rglob("dms.rlog"))  # one compressed too: the mark is inside the stream
    dms.with_name("dms.rlog.gz").write_bytes(gzip.compress(dms.read_bytes()))
    dms.unlink()

    def seen(root: Path) -> tuple[object, ...]:
        a = analyse([root])
        inputs = sorted((r.path.removesuffix(".gz"), r.format, r.lines, r.records,
                         r.continuation, r.unparsed, r.events) for r in a.inputs)
        return inputs, sorted((str(e.time), e.node, e.kind, e.message) for e in a.events)

    assert seen(bundle) == seen(sample)
