"""Records one call wrote as several log lines (cm_server's RHB matrix) are joined into one
record between stage one and stage two: one Lark parse, one event, every line still counted."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from reformdiag.ingest.grouping import MAX_PARTS, JoinedRecord, RecordGroup, join_records
from reformdiag.ingest.scan import KeptRecord
from reformdiag.model import Event
from reformdiag.pipeline import Options, analyse

GROUP = RecordGroup(first=(b"Network timeout:", b"Network base_time:", b"[RHB] hb infos:"),
                    next=(b"Network base_time:", b"[RHB] hb infos:"),
                    same=re.compile(rb"^(\S+ \d\d:\d\d:\d\d)?[.\d]* ?(tid=\d+) "))
P = "2024-09-26 20:11:49.676 tid=5045 MaxClusterAb LOG: "
NEVER = "1970-01-01 08:00:00"
# OG-C11's print (cases.md), verbatim
PRINT = [P + "Network timeout:6", P + "Network base_time:2024-09-26 20:11:49",
         P + f"[RHB] hb infos: |{NEVER}|2024-09-26 20:11:44|2024-09-26 20:11:48|",
         P + f"[RHB] hb infos: |2024-09-26 20:11:43|{NEVER}|2024-09-26 20:11:42|",
         P + f"[RHB] hb infos: |2024-09-26 20:11:48|2024-09-26 20:11:44|{NEVER}|"]


def _records(lines: list[str], first_line: int = 1) -> list[KeptRecord]:
    return [KeptRecord(line=first_line + i, text=t.encode(), n_lines=1)
            for i, t in enumerate(lines)]


def _joined(lines: list[str]) -> list[list[int]]:
    """The records after joining, each as the line numbers it holds."""
    out = []
    for rec in join_records(_records(lines), GROUP):
        parts = rec.parts if isinstance(rec, JoinedRecord) else [rec]
        out.append([p.line for p in parts])
    return out


def test_one_print_is_one_record() -> None:
    (rec,) = join_records(_records(PRINT), GROUP)
    assert isinstance(rec, JoinedRecord)
    assert rec.line == 1 and rec.n_lines == 5
    assert rec.text == "\n".join(PRINT).encode()


def test_what_does_not_join() -> None:
    other_thread = PRINT[2].replace("tid=5045", "tid=5046")
    next_second = PRINT[2].replace("20:11:49.676", "20:11:50.001")
    kick = P + "[KeyEvent: KEY_EVENT_RES_ARBITRATE] [Instance: 0] [Details: node(2) kick out.]"
    assert _joined([*PRINT[:3], other_thread]) == [[1, 2, 3], [4]]
    assert _joined([*PRINT[:3], next_second]) == [[1, 2, 3], [4]]
    # a row never joins a record that is not part of a print, even of the same thread
    assert _joined([kick, PRINT[1], PRINT[2]]) == [[1], [2, 3]]
    # the same millisecond (a cut timestamp keeps only the thread) joins
    assert _joined([*PRINT[:2], PRINT[2].replace("20:11:49.676", "20:11:49.999")]) == [[1, 2, 3]]
    # a line whose timestamp a published log cut off keeps its thread: it joins
    cut = PRINT[3].split(" ", 2)[2]
    assert cut.startswith("tid=5045 ") and _joined([*PRINT[:3], cut]) == [[1, 2, 3, 4]]
    assert _joined([*PRINT[:3], cut.replace("tid=5045", "tid=5046")]) == [[1, 2, 3], [4]]
    # a line between them (not kept, or of another thread) breaks the run
    gap = [*_records(PRINT[:2]), *_records(PRINT[2:], first_line=4)]
    assert [r.line for r in join_records(gap, GROUP)] == [1, 4]
    # without a group spec nothing changes
    recs = _records(PRINT)
    assert list(join_records(recs, None)) == recs


def test_a_run_of_rows_is_bounded() -> None:
    rows = [PRINT[2]] * (MAX_PARTS + 10)
    sizes = [len(parts) for parts in _joined(rows)]
    assert sizes == [MAX_PARTS, 10]


def _cm_server(tmp_path: Path, lines: list[str]) -> Path:
    log = tmp_path / "host1" / "gausslog" / "cm" / "cm_server" / "cm_server-2024-09-26_100000-current.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("\n".join(lines) + "\n")
    return log


def test_the_pipeline_counts_every_line(tmp_path: Path) -> None:
    other = "2024-09-26 20:11:50.100 tid=5046 ProcessCmsMsg LOG: [CLIENT] release lock success. " \
            "key=/omm/CM/LockOwner/dms_res/dms_reformer_lock, value=6001."
    log = _cm_server(tmp_path, [*PRINT, other, *PRINT[2:]])
    a = analyse([log], Options(jobs=1))
    (report,) = a.inputs
    assert report.lines == 9 and report.unparsed == 0
    assert report.records == 3 and report.continuation == 6  # 2 prints and the lock line
    kinds = sorted((e.line, e.kind, e.fields.get("joined")) for e in a.events)
    assert kinds == [(1, "rhb_matrix_print", 5), (6, "reformer_lock_released", None),
                     (7, "rhb_matrix_print", 3)]
    first = min(a.events, key=lambda e: e.line)
    assert first.line_count == 5 and first.fields["timeout_s"] == 6
    assert first.message.split("\n")[4] == PRINT[4]


def test_a_joined_record_whose_head_does_not_parse(tmp_path: Path) -> None:
    """The head line lost its level (``LOG`` without the colon): it alone is unparsed, the
    rest of the print is joined again."""
    broken = PRINT[0].replace("LOG:", "LOG")
    log = _cm_server(tmp_path, [broken, *PRINT[1:]])
    a = analyse([log], Options(jobs=1))
    (report,) = a.inputs
    assert report.unparsed == 1 and report.lines == 5
    assert report.records + report.continuation + report.unparsed == 5
    (event,) = a.events
    assert (event.kind, event.line, event.line_count) == ("rhb_matrix_print", 2, 4)
    assert event.fields["base_time"] == "2024-09-26 20:11:49" and "timeout_s" not in event.fields


def test_segments_never_cut_a_print(tmp_path: Path) -> None:
    """A large cm_server log cut into small segments gives the same events as read whole."""
    lines = []
    for s in range(400):
        stamp = f"2024-09-26 20:{s // 60 % 60:02d}:{s % 60:02d}.{s % 1000:03d}"
        lines.extend(line.replace("2024-09-26 20:11:49.676", stamp) for line in PRINT)
        lines.append(f"{stamp} tid=1000001 StartAndStop LOG: res(dms_res) inst(6001) status "
                     "is online, no need to check")
    log = _cm_server(tmp_path, lines)

    def snapshot(**options: object) -> object:
        a = analyse([log], Options(**options))  # type: ignore[arg-type]
        return [dataclasses.asdict(e) for e in a.events], [dataclasses.asdict(r) for r in a.inputs]

    whole = snapshot(jobs=1)
    events: list[Event] = whole[0]  # type: ignore[index,assignment]
    assert len(events) == 400 and {e["fields"]["joined"] for e in events} == {5}  # type: ignore[index]
    for size in (1024, 4096, 20000):
        assert snapshot(jobs=2, segment_bytes=size) == whole, size


def test_a_broken_group_spec_names_the_file_and_the_key(tmp_path: Path) -> None:
    import pytest
    import yaml

    from reformdiag.errors import DefinitionError
    from reformdiag.parse.spec import load_spec

    spec = yaml.safe_load((Path(__file__).parents[2] / "grammars" / "cm_log.yaml").read_text())
    for broken, says in [({"first": ["x"], "next": ["y"]}, "group.same needs a regex"),
                         ({"first": [], "next": ["y"], "same": "a"}, "group.first needs"),
                         ({"first": ["x"], "next": ["y"], "same": "(a"}, "invalid regular")]:
        spec["group"] = broken
        path = tmp_path / "cm_log.yaml"
        path.write_text(yaml.safe_dump(spec, allow_unicode=True))
        with pytest.raises(DefinitionError, match=re.escape(says)) as err:
            load_spec(path, {"cbb_mes": [], "cases_a": [], "cases_b": [], "cases_c": []})
        assert "cm_log.yaml" in err.value.render()
