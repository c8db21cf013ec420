"""CLI: ``reformdiag timeline PATH...``: the unified cross-node timeline."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from reformdiag.cli.common import check_paths, error_boundary, open_output, prepare_output, stdout_console
from reformdiag.cli.options import (
    DebugOpt,
    JobsOpt,
    NoPrefilterOpt,
    OutputOpt,
    PathsArg,
    RedactOpt,
    TzOpt,
    make_options,
)
from reformdiag.errors import UsageError
from reformdiag.model import LEVELS, Event, level_rank
from reformdiag.pipeline import analyse
from reformdiag.timeline.frame import is_notable

if TYPE_CHECKING:
    import pandas as pd

    from reformdiag.pipeline import Analysis

FORMATS = ("table", "csv", "jsonl", "parquet")


def _when(text: str | None, what: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError(f"cannot read {what} {text!r}",
                         hint="use ISO time in UTC, e.g. 2024-09-19T09:14:00") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@error_boundary
def timeline(
    paths: list[Path] = PathsArg,
    node: list[str] = typer.Option([], "--node", "-n", help="Only these nodes (repeatable)."),
    level: str | None = typer.Option(None, "--level", "-l",
                                     help="Minimum level: " + ", ".join(LEVELS)),
    since: str | None = typer.Option(None, "--since", help="From this UTC time (ISO 8601)."),
    until: str | None = typer.Option(None, "--until", help="Up to this UTC time (ISO 8601)."),
    grep: str | None = typer.Option(None, "--grep", "-g",
                                    help="Regular expression on message or event kind."),
    all_events: bool = typer.Option(False, "--all", help="Every record of every file, streamed "
                                    "in time order (slower: every record goes through Lark)."),
    episodes: bool = typer.Option(False, "--episodes", "-e",
                                  help="Show the episodes (reform rounds, failover attempts, "
                                       "switchovers, kick-outs) instead of the events."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, csv, jsonl or parquet."),
    output: Path | None = OutputOpt,
    tz: str | None = TzOpt,
    no_prefilter: bool = NoPrefilterOpt,
    jobs: int = JobsOpt,
    debug: bool = DebugOpt,
    redact: bool = RedactOpt,
) -> None:
    """Show every node's events in one UTC-ordered timeline."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown --format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    if level is not None and level not in LEVELS:
        raise UsageError(f"unknown level {level!r}", hint=f"use one of {', '.join(LEVELS)}")
    if fmt == "parquet" and output is None:
        raise UsageError("parquet needs an output file", hint="add -o timeline.parquet")
    if fmt == "parquet":  # before the bundle is read, not after
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise UsageError("parquet export needs pyarrow, which is not installed",
                             hint="pip install 'reformdiag[parquet]', or use --format csv") from None
    try:
        pattern = re.compile(grep) if grep else None
    except re.error as exc:
        raise UsageError(f"invalid --grep pattern: {exc}") from exc
    start, end = _when(since, "--since"), _when(until, "--until")
    check_paths(paths)
    prepare_output(output)
    if episodes:
        from reformdiag.diagnose.engine import build_episodes
        from reformdiag.report.findings import EPISODE_SHOWN

        analysis = analyse(paths, make_options(tz, no_prefilter, debug, jobs))
        _check_nodes(node, analysis)
        pool = [e for e in build_episodes(analysis.events) if e.kind in EPISODE_SHOWN]
        events = [_episode_row(e) for e in select(pool, node, level, start, end, pattern, True)]
    elif all_events:
        from reformdiag.pipeline import stream_all

        analysis, stream = stream_all(paths, make_options(tz, no_prefilter, debug, jobs))
        _check_nodes(node, analysis)
        events = select(stream, node, level, start, end, pattern, True)
    else:
        analysis = analyse(paths, make_options(tz, no_prefilter, debug, jobs))
        _check_nodes(node, analysis)
        events = list(select(analysis.events, node, level, start, end, pattern, False))
    if redact:  # after selecting (--node takes real names), before anything is written
        from reformdiag.redact import redact as redact_run

        events = redact_run(analysis).stream(events)
    if fmt == "table":
        from reformdiag.report.terminal import event_line

        console = stdout_console(open_output(output) if output else None,
                                 wrap=False)
        what = "episodes" if episodes else "events"
        count = 0
        for e in events:
            console.print(event_line(e, where=not episodes))
            count += 1
        console.print(f"{count} {what}, times in UTC", markup=False)
        for note in analysis.time_notes:
            console.print(f"note: {note}", markup=False)
        return
    if fmt == "jsonl":  # streams: one line per event, never a frame of everything
        import json

        from reformdiag.report.common import event_dict

        handle = open_output(output) if output else sys.stdout
        for e in events:
            handle.write(json.dumps(event_dict(e), ensure_ascii=False) + "\n")
        if output:
            handle.close()
        return
    if fmt == "csv":
        _write_csv(events, output)
    else:
        _write_parquet(events, output)  # type: ignore[arg-type] - checked above


BATCH = 10_000  # events per frame written: --all streams every record of a bundle


def _frames(events: Iterable[Event]) -> Iterator[pd.DataFrame]:
    """Frames of BATCH events (the first one even when there is no event), fields as JSON.
    ``--all`` then holds one batch, not every record: one frame of a 300 MB bundle's records
    peaked at 3 GB."""
    from itertools import islice

    from reformdiag.timeline.frame import to_frame

    it, first = iter(events), True
    while True:
        batch = list(islice(it, BATCH))
        if batch or first:
            frame = to_frame(batch)
            yield frame.assign(fields=frame["fields"].map(_json))
            first = False
        if len(batch) < BATCH:
            return


def _write_csv(events: Iterable[Event], output: Path | None) -> None:
    """CSV a frame at a time; the text is the same as one frame's."""
    handle = open_output(output) if output else sys.stdout
    try:
        for i, frame in enumerate(_frames(events)):
            handle.write(frame.to_csv(index=False, header=i == 0,
                                      date_format="%Y-%m-%dT%H:%M:%S.%fZ"))
    finally:
        if output:
            handle.close()


def _write_parquet(events: Iterable[Event], output: Path) -> None:
    """One row group per frame. The repeated strings stay dictionary-encoded (categories when
    read back with pandas), with 32-bit indexes so that every batch fits one schema."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from reformdiag.timeline.frame import CATEGORIES

    writer = None
    try:
        for frame in _frames(events):
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                schema = pa.schema(
                    [pa.field(f.name, pa.dictionary(pa.int32(), pa.string()))
                     if f.name in CATEGORIES else f for f in table.schema],
                    metadata=table.schema.metadata)
                writer = pq.ParquetWriter(output, schema)
            writer.write_table(table.cast(writer.schema))
    finally:
        if writer is not None:
            writer.close()


def _episode_row(ep: Event) -> Event:
    """An episode for export: the lines it stands for as ``file:line`` references, not the
    events themselves (which cannot be written as JSON)."""
    from dataclasses import replace

    fields = dict(ep.fields)
    fields["parts"] = [f"{p.file}:{p.line}" for p in fields.get("parts", [])]
    return replace(ep, fields=fields)


def _json(value: object) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, default=str)


def _check_nodes(nodes: list[str], analysis: Analysis) -> None:
    """A --node the bundle does not have is a typo: say which nodes there are, rather than
    print an empty timeline."""
    known = {n.key for n in analysis.cluster.nodes} | {e.node for e in analysis.events}
    unknown = [n for n in nodes if n not in known]
    if unknown:
        raise UsageError(f"no node {', '.join(map(repr, unknown))} in this bundle",
                         hint="its nodes: " + ", ".join(sorted(known)))


def select(events: Iterable[Event], nodes: list[str], level: str | None,
           start: datetime | None, end: datetime | None, pattern: re.Pattern[str] | None,
           all_events: bool) -> Iterator[Event]:
    """Filter lazily, so a streamed full view stays a stream."""
    for e in events:
        if not all_events and not is_notable(e):
            continue
        if nodes and e.node not in nodes:
            continue
        if level and level_rank(e.level) < level_rank(level):
            continue
        if start and (e.time is None or e.time < start):
            continue
        if end and (e.time is None or e.time > end):
            continue
        if pattern and not (pattern.search(e.message) or pattern.search(e.kind)):
            continue
        yield e
