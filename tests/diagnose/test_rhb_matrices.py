"""cm_server's RHB heartbeat matrix as an episode: its timed-out links and silent nodes, and
cells too damaged to read (skipped, never raising)."""

from __future__ import annotations

from datetime import UTC

from reformdiag.diagnose.episodes import _rhb_matrices
from reformdiag.model import Event
from reformdiag.parse.record import parse_record
from reformdiag.parse.registry import default_registry

PREFIX = "2024-09-26 20:11:49.{ms} tid=1005045 MaxClusterAb LOG: "
NEVER = "1970-01-01 08:00:00"


def _events(rows: list[str]) -> list[Event]:
    fmt = default_registry().get("cm_log")
    lines = [PREFIX.format(ms="001") + "Network timeout:6",
             PREFIX.format(ms="001") + "Network base_time:2024-09-26 20:11:49",
             *(PREFIX.format(ms="002") + "[RHB] hb infos: |" + row for row in rows)]
    events = []
    for n, text in enumerate(lines, 1):
        ev = parse_record(fmt, text, file="cm_server.log", line=n, filename="cm_server.log")
        assert isinstance(ev, Event), ev
        assert ev.local_time is not None
        ev.time, ev.node = ev.local_time.replace(tzinfo=UTC), "host1"
        events.append(ev)
    return events


def test_a_timed_out_link_and_a_silent_node() -> None:
    (matrix,) = _rhb_matrices(_events([
        f"{NEVER}|2024-09-26 20:11:48|2024-09-26 20:11:30|",
        f"2024-09-26 20:11:48|{NEVER}|2024-09-26 20:11:47|",
        f"{NEVER}|{NEVER}|{NEVER}|",
    ]))
    assert matrix.kind == "rhb_matrix" and matrix.level == "warning"
    assert matrix.fields["stale_links"] == ["node 1 <- node 3: 19 s"]
    assert matrix.fields["silent_cm_nodes"] == [3] and matrix.fields["max_age_s"] == 19


def test_damaged_cells_are_skipped() -> None:
    """A cell that reads as a time with a zone (``20:11+08``, 19 characters like a good one)
    made the age a naive-minus-aware subtraction: found by the mutation tests."""
    (matrix,) = _rhb_matrices(_events([
        f"{NEVER}|2024-09-26 20:11+08|2024-09-26 2O:11:47|",
        f"2024-09-26 20:11:48|{NEVER}|2024-09-26 20:11:47|",
    ]))
    assert matrix.level == "info" and matrix.fields["stale_links"] == []
    assert matrix.fields["max_age_s"] == 2


def _print(lines: list[str], line: int = 1) -> Event:
    """One print as the pipeline joins it: one record of several lines."""
    fmt = default_registry().get("cm_log")
    ev = parse_record(fmt, "\n".join(lines), file="cm_server.log", line=line,
                      filename="cm_server.log")
    assert isinstance(ev, Event), ev
    assert ev.local_time is not None
    ev.time, ev.node = ev.local_time.replace(tzinfo=UTC), "host1"
    return ev


def test_a_joined_print_is_read_from_its_lines() -> None:
    rows = [f"{NEVER}|2024-09-26 20:11:48|2024-09-26 20:11:30|",
            f"2024-09-26 20:11:48|{NEVER}|2024-09-26 20:11:47|",
            f"{NEVER}|{NEVER}|{NEVER}|"]
    ev = _print([PREFIX.format(ms="001") + "Network timeout:6",
                 PREFIX.format(ms="001") + "Network base_time:2024-09-26 20:11:49",
                 *(PREFIX.format(ms="001") + "[RHB] hb infos: |" + row for row in rows)])
    assert ev.kind == "rhb_matrix_print"
    (matrix,) = _rhb_matrices([ev])
    assert matrix.fields["nodes"] == 3 and matrix.fields["timeout_s"] == 6
    assert matrix.fields["stale_links"] == ["node 1 <- node 3: 19 s"]
    assert matrix.fields["silent_cm_nodes"] == [3]
    assert matrix.fields["parts"] == [ev]


def test_a_print_cut_across_a_second_is_one_matrix() -> None:
    """The rows after a second's turn do not join the record before (the join wants the same
    second): the episode puts the print together again, rows in order."""
    head = _print([PREFIX.format(ms="999") + "Network timeout:6",
                   PREFIX.format(ms="999") + "Network base_time:2024-09-26 20:11:49",
                   PREFIX.format(ms="999") + f"[RHB] hb infos: |{NEVER}|2024-09-26 20:11:30|"])
    tail = _print(["2024-09-26 20:11:50.000 tid=1005045 MaxClusterAb LOG: [RHB] hb infos: "
                   f"|{NEVER}|{NEVER}|"], line=4)
    (matrix,) = _rhb_matrices([head, tail])
    assert matrix.fields["nodes"] == 2 and matrix.fields["silent_cm_nodes"] == [2]
    assert matrix.fields["stale_links"] == ["node 1 <- node 2: 19 s"]


def test_another_threads_line_inside_a_print() -> None:
    """cm_server's other threads write between the matrix's lines: the rows after such a line
    are a print of their own (no header), put back on the print of their thread."""
    head = _print([PREFIX.format(ms="001") + "Network timeout:6",
                   PREFIX.format(ms="001") + "Network base_time:2024-09-26 20:11:49",
                   PREFIX.format(ms="001") + f"[RHB] hb infos: |{NEVER}|2024-09-26 20:11:48|"])
    other = _print(["2024-09-26 20:11:49.001 tid=5046 ProcessCmsMsg LOG: [CLIENT] release lock "
                    "success. key=/omm/CM/LockOwner/dms_res/dms_reformer_lock, value=6001."],
                   line=4)
    rest = _print([PREFIX.format(ms="002") + f"[RHB] hb infos: |2024-09-26 20:11:30|{NEVER}|"],
                  line=5)
    stranger = _print([PREFIX.format(ms="002").replace("1005045", "77")
                       + f"[RHB] hb infos: |{NEVER}|{NEVER}|"], line=6)
    first, second = _rhb_matrices([head, other, rest, stranger])
    assert first.fields["nodes"] == 2 and first.fields["parts"] == [head, rest]
    assert first.fields["stale_links"] == ["node 2 <- node 1: 19 s"]
    assert second.fields["parts"] == [stranger] and second.fields["silent_cm_nodes"] == [1]
