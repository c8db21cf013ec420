"""The whole path for one bundle: ingest -> parse -> timeline (diagnose is added on top).

``analyse`` never raises on bad input: every file-level problem becomes a FileReport with a
status and a reason, and the rest of the bundle is analysed.
"""

from __future__ import annotations

import gc
import logging
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from reformdiag.errors import InputError
from reformdiag.ingest.discover import Skipped, Source, discover
from reformdiag.ingest.encoding import NOTES as DECODE_NOTES
from reformdiag.ingest.encoding import decode_text
from reformdiag.ingest.grouping import JoinedRecord, join_records
from reformdiag.ingest.identity import PathHints, path_hints
from reformdiag.ingest.pasted import (
    MAX_PASTED,
    is_pasted,
    merge_report,
    physical_lines,
    route_lines,
    source_reports,
)
from reformdiag.ingest.quote import quote_lines
from reformdiag.ingest.reader import BLOCK, ReadStats, read_chunks, read_head
from reformdiag.ingest.rotation import find_repeats
from reformdiag.ingest.scan import MAX_ORPHAN_SAMPLES, KeptRecord, ScanPlan, ScanResult, iter_scan
from reformdiag.ingest.sniff import Verdict, encoding_note, sniff
from reformdiag.ingest.split import SEGMENT, Segment, segments, splittable
from reformdiag.model import ClusterNode, Event, FileReport, Unparsed, level_rank
from reformdiag.parse.record import GENERIC_KIND, parse_record
from reformdiag.parse.registry import LoadedFormat, Registry, default_registry
from reformdiag.parse.timestamps import read_timestamp
from reformdiag.timeline.clock import (
    OUT_OF_RANGE,
    fill_missing_times,
    normalise_times,
    shifted,
    unix_time,
)
from reformdiag.timeline.cluster import ClusterMap, app_instance, build_cluster, field_roles
from reformdiag.timeline.relative import Clocks, align_boot_clocks, infer_years, place

log = logging.getLogger(__name__)
MAX_DOCUMENT = 16 * 1024 * 1024
MAX_UNPARSED_KEPT = 1000
FULL_VIEW_BLOCK = 256 * 1024  # reads of `timeline --all`, which has every file open


@dataclass
class Options:
    tz_minutes: int | None = None  # --tz
    prefilter: bool = True  # False: every record goes through Lark (slow; for checks)
    jobs: int = 1  # worker processes for the per-file work
    engine: str = "local"  # local | dask
    scheduler: str | None = None  # dask scheduler address (default: a local cluster)
    extra_anchors: dict[str, list[str]] = field(default_factory=dict)  # format -> phrases
    debug: bool = False
    phrase_engine: str = "auto"  # stage one's phrase search: auto | hyperscan | aho-corasick
    line_pass: str = "auto"  # stage one's line pass: auto | compiled | numpy
    segment_bytes: int = SEGMENT  # with jobs > 1, plain files of 2 segments or more are cut


@dataclass
class Analysis:  # noqa: D101 - documented below
    """Everything later stages and reports need about one bundle."""

    inputs: list[FileReport]
    events: list[Event]  # kept events, sorted by UTC time
    cluster: ClusterMap
    time_notes: list[str]
    skipped: list[Skipped] = field(default_factory=list)
    offsets: dict[str, int] = field(default_factory=dict)  # host -> minutes used for naive times
    hints: dict[str, tuple[str | None, int | None]] = field(default_factory=dict)
    clocks: Clocks = field(default_factory=Clocks)  # years and boot times learnt
    sources: dict[str, Source] = field(default_factory=dict)  # display path -> file

    def quote(self, wanted: dict[str, set[int]]) -> dict[tuple[str, int], str]:
        """The text of lines (file -> line numbers) read again from the bundle's files, for
        the evidence a report quotes (events do not keep their raw text, see ingest/quote).
        A file that cannot be read again gives nothing: its evidence shows the message."""
        out: dict[tuple[str, int], str] = {}
        for file, lines in wanted.items():
            source = self.sources.get(file)
            if source is None:
                continue
            try:
                found = quote_lines(source, lines)
            except (OSError, InputError, ValueError):
                continue
            notes: Counter[str] = Counter()
            out.update(((file, n), _decode(text, notes)) for n, text in found.items())
        return out

    @property
    def analysed(self) -> list[FileReport]:
        return [r for r in self.inputs if r.status == "analysed"]

    @property
    def not_analysed(self) -> list[FileReport]:
        return [r for r in self.inputs if r.status != "analysed"]

    def span(self) -> tuple[datetime | None, datetime | None]:
        times = [e.time for e in self.events if e.time is not None]
        return (min(times), max(times)) if times else (None, None)


def _decode(raw: bytes, notes: Counter[str]) -> str:
    if b"\x00" in raw:
        raw = raw.replace(b"\x00", b"")
        notes["NUL bytes removed"] += 1
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text, how = decode_text(raw)
    notes[DECODE_NOTES[how]] += 1
    return text


def build_plans(registry: Registry, options: Options) -> dict[str, ScanPlan]:
    plans = {}
    for fmt in registry:
        spec = fmt.spec
        if spec.layout != "lines":
            continue
        keep = [*(a for t in spec.templates for a in t.anchors), *(p for p, _ in spec.keep),
                *options.extra_anchors.get(spec.id, [])]
        plans[spec.id] = ScanPlan(
            shapes=spec.start_shapes,
            continuation=spec.continuation,
            keep=tuple(dict.fromkeys(p.encode("utf-8") for p in keep)),
            attach=tuple(a.encode("utf-8") for a in spec.attach),
            group=spec.group,
            keep_all=not options.prefilter,
            engine=options.phrase_engine,
            line_pass=options.line_pass,
        )
    return plans


@dataclass
class Sniffed:
    """A file whose format is known: what ``run`` and the segment merge share."""

    source: Source
    report: FileReport  # path, size, host, format and the encoding note filled in
    verdict: Verdict
    fmt: LoadedFormat
    hints: PathHints


@dataclass
class ReadTally:
    """What reading one file (or segment) ran into, summed over segments into notes."""

    truncated_lines: int = 0
    cut_records: int = 0
    problem: str | None = None
    nul_bytes: int = 0
    decode: Counter[str] = field(default_factory=Counter)
    orphans: list[Unparsed] = field(default_factory=list)

    def add(self, other: ReadTally) -> None:
        self.truncated_lines += other.truncated_lines
        self.cut_records += other.cut_records
        self.problem = self.problem or other.problem
        self.nul_bytes += other.nul_bytes
        self.decode.update(other.decode)
        self.orphans.extend(other.orphans)

    def notes(self, lines: int) -> list[str]:
        notes = []
        if self.truncated_lines:
            notes.append(f"{self.truncated_lines} line(s) longer than 1 MiB, truncated")
        if self.cut_records:
            notes.append(f"{self.cut_records} very long record(s) cut to 256 KiB")
        if self.problem:
            notes.append(f"{self.problem}: analysed the {lines} lines before it")
        if self.nul_bytes:
            notes.append(f"{self.nul_bytes} NUL byte(s) removed")
        notes.extend(f"{what} ({n})" for what, n in self.decode.items())
        return notes


@dataclass
class SegmentResult:
    report: FileReport  # accounting of the segment; lines relative to its start
    events: list[Event]
    tally: ReadTally


class FileAnalyser:
    """Stage one and stage two for one file at a time (reusable across files)."""

    def __init__(self, registry: Registry, options: Options) -> None:
        self.registry = registry
        self.options = options
        self.plans = build_plans(registry, options)
        self.candidates = registry.sniff_candidates()

    def run(self, source: Source) -> tuple[FileReport, list[Event]]:
        """Both stages for one whole file."""
        known = self.sniffed(source)
        if isinstance(known, FileReport):
            return known, []
        report, fmt = known.report, known.fmt
        try:
            if known.verdict.pasted:
                events = self._pasted(source, report)
            elif fmt.spec.layout == "document":
                events = self._document(fmt, source, report)
            else:
                events = self._lines(fmt, source, report)
        except Exception as exc:  # noqa: BLE001 - see _failed
            return self._failed(report, exc), []
        return self._finish(known, events)

    def sniffed(self, source: Source) -> Sniffed | FileReport:
        """Read the head and find the format; a FileReport saying why when there is none."""
        report = FileReport(path=source.display, size=source.size)
        hints = path_hints(source.parts)
        report.host = hints.host
        try:
            head = read_head(source)
        except OSError as exc:
            report.status, report.reason = "error", f"cannot read: {exc.strerror or exc}"
            return report
        except InputError as exc:  # refused: a decompression bomb
            report.status, report.reason = "error", exc.message
            return report
        verdict = sniff(head, source.display, self.candidates,
                        allow_pasted=source.size <= MAX_PASTED)
        if verdict.format is None:
            report.status = "empty" if verdict.reason == "empty file" else "not recognised"
            report.reason = verdict.reason
            return report
        fmt = self.registry.get(verdict.format)
        report.format, report.system = fmt.id, fmt.spec.system
        note = None if verdict.pasted else encoding_note(head)  # pasted: counted per line
        if note:
            report.notes.append(note)
        return Sniffed(source, report, verdict, fmt, hints)

    def _failed(self, report: FileReport, exc: Exception) -> FileReport:
        if isinstance(exc, OSError):
            report.status, report.reason = "error", f"read failed: {exc.strerror or exc}"
        elif isinstance(exc, InputError):  # refused while reading: a decompression bomb
            report.status, report.reason = "error", exc.message
        else:  # a bug must not cost the rest of the bundle
            report.status = "error"
            report.reason = f"internal error while reading ({exc.__class__.__name__}: {exc})"
            if self.options.debug:
                report.notes.append("".join(traceback.format_exception(exc)))
        return report

    def _finish(self, known: Sniffed, events: list[Event]) -> tuple[FileReport, list[Event]]:
        """What a file's events say about the file: host, offsets, format, node."""
        report, fmt, hints, source = known.report, known.fmt, known.hints, known.source
        for ev in events:
            ev.host = hints.host
            for space, value in hints.ids:  # ndb_2_out.log: node 2 wrote it, unless a line says
                ev.fields.setdefault(f"origin_{space}", value)
        offsets = Counter(e.utc_offset_min for e in events if e.utc_offset_min is not None)
        if offsets:
            report.utc_offset_min = offsets.most_common(1)[0][0]
        if not known.verdict.pasted:  # a pasted file's format is that of most of its events
            report.format = events[0].source if events and fmt.spec.sources else report.format
            if not events:
                report.format = fmt.spec.source_for(source.name) if fmt.spec.sources else fmt.id
        if hints.dn_instance:
            report.node = f"dn_{hints.dn_instance}"
        return report, events

    # -- a large file cut into segments (ingest.split), scanned by several workers -------
    def segments(self, source: Source) -> tuple[Sniffed, list[Segment]] | None:
        """The segments of a large plain line-format file; None: read it whole."""
        if not splittable(source, self.options.segment_bytes):
            return None
        known = self.sniffed(source)
        if isinstance(known, FileReport) or known.verdict.pasted or \
                known.fmt.spec.layout != "lines":
            return None
        try:
            cut = segments(source, self.plans[known.fmt.id], self.options.segment_bytes)
        except OSError:
            return None  # run() will say what is wrong with the file
        return (known, cut) if len(cut) > 1 else None

    def run_segment(self, source: Source, fmt_id: str, segment: Segment) -> SegmentResult:
        """Both stages for one segment; line numbers relative to the segment."""
        report = FileReport(path=source.display, size=segment.end - segment.start)
        tally = ReadTally()
        try:
            events = list(self.iter_lines(self.registry.get(fmt_id), source, report,
                                          span=(segment.start, segment.end), tally=tally))
        except Exception as exc:  # noqa: BLE001 - reported by merge_segments
            return SegmentResult(self._failed(report, exc), [], tally)
        return SegmentResult(report, events, tally)

    def merge_segments(self, known: Sniffed, parts: list[SegmentResult]
                       ) -> tuple[FileReport, list[Event]]:
        """The segments of one file as if it had been read whole."""
        report = known.report
        failed = next((p.report for p in parts if p.report.status == "error"), None)
        if failed is not None:
            report.status, report.reason = failed.status, failed.reason
            report.notes.extend(failed.notes)
            return report, []
        events: list[Event] = []
        tally = ReadTally()  # the parts' tallies summed, orphan lines included
        base = 0  # lines before the segment
        for part in parts:
            for ev in part.events:
                ev.line += base
            for item in part.report.unparsed_lines:
                item.line += base
            for item in part.tally.orphans:
                item.line += base
            events.extend(part.events)
            room = MAX_UNPARSED_KEPT - len(report.unparsed_lines)
            report.unparsed_lines.extend(part.report.unparsed_lines[:max(0, room)])
            tally.add(part.tally)
            for name in ("lines", "records", "continuation", "unparsed", "events"):
                setattr(report, name, getattr(report, name) + getattr(part.report, name))
            report.first = report.first or part.report.first
            report.last = part.report.last or report.last
            base += part.report.lines
        report.unparsed_lines.extend(tally.orphans[:MAX_ORPHAN_SAMPLES])
        report.notes.extend(tally.notes(report.lines))
        return self._finish(known, events)

    # -- line formats: stage one then stage two --------------------------------
    def _lines(self, fmt: LoadedFormat, source: Source, report: FileReport) -> list[Event]:
        return list(self.iter_lines(fmt, source, report))

    def iter_lines(self, fmt: LoadedFormat, source: Source, report: FileReport,
                   full_view: bool = False,
                   scanned: tuple[list[KeptRecord], ScanResult] | None = None,
                   span: tuple[int, int] | None = None, tally: ReadTally | None = None,
                   ) -> Iterator[Event]:
        """Stage one and two as a stream of events; ``report`` is complete at the end.

        ``full_view`` parses every record and yields unnamed ones too (``timeline --all``).
        ``scanned`` (records and accounting) replaces stage one: pasted text, routed per line.
        ``span`` reads a segment of the file; its notes and orphan lines then go to ``tally``
        (the merge builds them for the whole file).
        """
        stats = ReadStats()
        result = ScanResult()
        decode_notes: Counter[str] = Counter()
        pending: Event | None = None
        extra = self.options.extra_anchors.get(fmt.id, [])
        plan = self.plans[fmt.id]
        if full_view:
            plan = plan.keeping_all()
        if scanned is None:
            # The full view keeps every file of the bundle open at once (merged in time
            # order): smaller reads there, so that memory is not files x 4 MiB.
            block = FULL_VIEW_BLOCK if full_view else BLOCK
            stream = iter_scan(read_chunks(source, stats, block=block, span=span), plan, result)
        else:
            stream, result = iter(scanned[0]), scanned[1]
        report.records = report.continuation = report.unparsed = report.events = 0
        # A kept event of a file read as it is does not keep its raw text: the evidence a
        # report quotes is read again from the file (Analysis.quote). Pasted text keeps it
        # (it was repaired), and so does the full view (it streams, nothing accumulates).
        keep_raw = full_view or scanned is not None
        todo: list[KeptRecord] = []  # the parts of a joined record that did not parse
        records = join_records(stream, plan.group)
        while True:
            kept = todo.pop(0) if todo else next(records, None)
            if kept is None:
                break
            text = _decode(kept.text, decode_notes)
            item = parse_record(fmt, text, file=source.display, line=kept.line,
                                filename=source.name)
            if isinstance(kept, JoinedRecord):
                if isinstance(item, Unparsed):  # its head alone, then the rest joined again
                    todo[:0] = [kept.parts[0], *join_records(kept.parts[1:], plan.group)]
                    continue
                # its later record starts are continuation lines of the joined record
                report.records -= len(kept.parts) - 1
                report.continuation += len(kept.parts) - 1
                item.fields["joined"] = len(kept.parts)
            if not keep_raw and not isinstance(item, Unparsed):
                item.raw = ""
            if isinstance(item, Unparsed):
                report.records -= 1
                report.continuation -= kept.n_lines - 1
                report.unparsed += kept.n_lines
                if len(report.unparsed_lines) < MAX_UNPARSED_KEPT:
                    report.unparsed_lines.append(item)
                continue
            if kept.attach and item.kind == GENERIC_KIND and pending is not None:
                pending.fields.setdefault("detail", []).append(item.message)
                pending.line_count += item.line_count
                continue
            if (item.kind == GENERIC_KIND and level_rank(item.level) < level_rank("warning")
                    and not any(a in text for a in extra) and not full_view):
                continue  # kept for an anchor in its text, but nothing named it
            if pending is not None:
                yield pending  # held back one step: auxiliary records may still fold into it
            pending = item
            report.events += 1
        if pending is not None:
            yield pending
        report.lines = result.lines
        report.records += result.records
        report.continuation += result.continuation
        report.unparsed += result.unparsed
        orphans = [Unparsed(source.display, line, reason, text.decode("utf-8", "replace").rstrip())
                   for line, reason, text in result.orphans]
        report.first = read_timestamp(result.first_time.decode())[0] if result.first_time else None
        report.last = read_timestamp(result.last_time.decode())[0] if result.last_time else None
        here = ReadTally(truncated_lines=stats.truncated_lines + result.long_lines,
                         cut_records=result.cut_records, problem=stats.problem,
                         nul_bytes=stats.nul_bytes, decode=decode_notes, orphans=orphans)
        if tally is not None:
            tally.add(here)
        else:
            report.unparsed_lines.extend(orphans)
            report.notes.extend(here.notes(report.lines))

    # -- pasted text (a ticket): routed line by line, each format's records parsed ------
    def _pasted(self, source: Source, report: FileReport, full_view: bool = False
                ) -> list[Event]:
        stats = ReadStats()
        routed = route_lines(physical_lines(read_chunks(source, stats)), self.candidates,
                             self.plans)
        events: list[Event] = []
        for fmt_id, scanned in sorted(routed.groups.items()):
            part = FileReport(path=source.display)
            events.extend(self.iter_lines(self.registry.get(fmt_id), source, part,
                                          scanned=scanned, full_view=full_view))
            merge_report(report, part)
        report.notes[:0] = routed.notes()
        # what the reader met: lines over 1 MiB cut, a stream cut short, NUL bytes dropped
        report.notes.extend(ReadTally(truncated_lines=stats.truncated_lines,
                                      problem=stats.problem, nul_bytes=stats.nul_bytes)
                            .notes(report.lines))
        main = Counter(e.source for e in events).most_common(1)
        biggest = max(routed.groups, key=lambda f: routed.groups[f][1].lines, default=None)
        spec = self.registry.get(biggest).spec if biggest else None
        report.format = main[0][0] if main else (spec.source_for(source.name) if spec else None)
        report.system = spec.system if spec else None
        return events

    # -- document formats (cm_ctl query): the whole file is one record -----------
    def _document(self, fmt: LoadedFormat, source: Source, report: FileReport) -> list[Event]:
        stats = ReadStats()
        raw = b""
        for chunk in read_chunks(source, stats):
            raw += chunk
            if len(raw) > MAX_DOCUMENT:
                report.notes.append("document larger than 16 MiB: only its head was read")
                break
        notes: Counter[str] = Counter()
        text = _decode(raw, notes).replace("\r\n", "\n")
        report.lines = text.count("\n") + (0 if text.endswith("\n") else 1)
        from lark.exceptions import UnexpectedInput

        try:
            tree = fmt.parser.parse(text if text.endswith("\n") else text + "\n")
        except UnexpectedInput as exc:
            line = getattr(exc, "line", 1) or 1
            report.unparsed = report.lines
            report.unparsed_lines.append(Unparsed(source.display, line,
                                                  f"does not match the {fmt.id} grammar",
                                                  text.splitlines()[line - 1][:200]
                                                  if text.splitlines() else ""))
            return []
        document = fmt.document
        assert document is not None
        events: list[Event] = document(tree, spec=fmt.spec, file=source.display, first_line=1,
                                       host=None)
        report.records, report.continuation = 1, report.lines - 1
        report.events = len(events)
        return events


# progress(file, bytes done, bytes in all): called once before the first file and after each
# file (the CLI draws a progress bar from it; it is not part of Options, which Dask pickles).
Progress = Callable[[str, int, int], None]


def analyse(paths: list[Path], options: Options | None = None,
            registry: Registry | None = None, progress: Progress | None = None) -> Analysis:
    """Analyse a bundle (directories, files, .gz) into an Analysis."""
    options = options or Options()
    registry = registry or default_registry()
    sources, skipped = discover(paths)
    total, done = sum(s.size for s in sources), 0
    if progress is not None:
        progress("", 0, total)
    analyser = FileAnalyser(registry, options)
    inputs: list[FileReport] = []
    events: list[Event] = []
    by_file: dict[str, list[Event]] = {}
    hints: dict[str, tuple[str | None, int | None]] = {}
    file_ids: dict[str, tuple[tuple[str, int], ...]] = {}
    from reformdiag.parallel import run_files

    files = []
    for source, report, file_events in run_files(analyser, sources, options.jobs,
                                                 options.engine, options.scheduler):
        files.append((source, report, file_events))
        inputs.append(report)
        events.extend(file_events)
        by_file[source.display] = file_events
        h = path_hints(source.parts)
        hints[source.display] = (h.host, h.dn_instance)
        file_ids[source.display] = h.ids
        if progress is not None:
            done += source.size
            progress(source.display, done, total)
    repeats = find_repeats(files)  # copies and overlapping segments: counted once
    if repeats.events:
        events = [e for e in events if id(e) not in repeats.events]
        by_file = {k: [e for e in v if id(e) not in repeats.events] for k, v in by_file.items()}
    inputs.extend(r for _, report, fe in files for r in source_reports(report, fe))
    for item in skipped:
        inputs.append(FileReport(path=item.display, status=item.status, reason=item.reason))
    saved_at = {s.display: moment for s in sources
                if s.mtime is not None and (moment := unix_time(s.mtime)) is not None}
    clocks = Clocks()
    infer_years(events, saved_at, clocks)
    align_boot_clocks(events, clocks)
    used, notes = normalise_times(events, options.tz_minutes)
    notes.extend(clocks.notes)
    times = [e.time for e in events if e.time is not None and e.source != "cm_ctl_query"]
    fill_missing_times(by_file, max(times) if times else None, saved_at)
    cluster = build_cluster(events, hints, file_ids, repeats.copies)
    assign_nodes(events, cluster, hints)
    for report in inputs:
        host, dn = hints.get(report.path, (None, None))
        if report.path in repeats.copies:  # a copy belongs to the node of the file it copies
            host, dn = hints.get(repeats.copies[report.path], (host, dn))
        node = cluster.of_folder(host, dn)
        if node is not None:
            report.node = node.key
        if report.utc_offset_min is None and host is not None and (host or "-") in used:
            report.utc_offset_min = used[host or "-"]
    events.sort(key=_order)
    return Analysis(inputs=inputs, events=events, cluster=cluster, time_notes=notes,
                    skipped=skipped, offsets=used, hints=hints, clocks=clocks,
                    sources={s.display: s for s in sources})


def stream_all(paths: list[Path], options: Options | None = None,
               registry: Registry | None = None) -> tuple[Analysis, Iterator[Event]]:
    """Every record of every file, merged across files in UTC order, as a stream.

    A first pass (the normal analysis) learns the cluster map and time zones; the second
    parses every record file by file and merges the per-file streams (each file is in time
    order) with a heap, so memory holds one pending event per file, not the bundle.
    """
    import heapq

    options = options or Options()
    registry = registry or default_registry()
    analysis = analyse(paths, options, registry)
    analyser = FileAnalyser(registry, options)
    sources, _ = discover(paths)
    default = Counter(analysis.offsets.values()).most_common(1)
    fallback = default[0][0] if default else 0

    def one_file(source: Source, events: Iterable[Event]) -> Iterator[Event]:
        host, dn = analysis.hints.get(source.display, (None, None))
        node = analysis.cluster.of_folder(host, dn)
        last = None
        for ev in events:
            own = analysis.cluster.origin_of(ev)
            ev.host, ev.node = host, (own or node).key if (own or node) else (host or "unknown")
            place(ev, analysis.clocks)
            if ev.local_time is not None:
                offset = (ev.utc_offset_min if ev.utc_offset_min is not None else
                          options.tz_minutes if options.tz_minutes is not None else
                          analysis.offsets.get(host or "-", fallback))
                ev.time = shifted(ev.local_time, timedelta(minutes=offset))
                if ev.time is None:
                    ev.time_note = f"{OUT_OF_RANGE}: time of the record before it"
            if ev.time is not None:
                last = ev.time
            else:
                ev.time = last
            yield ev

    def _pasted_full(source: Source, report: FileReport) -> Iterator[Event]:
        """Every record of a ticket; those the analysis kept keep its node and time (it
        resolved them with the whole bundle's events)."""
        known = {e.line: e for e in analysis.events if e.file == source.display}
        for ev in one_file(source, analyser._pasted(source, report, full_view=True)):
            seen = known.get(ev.line)
            if seen is not None and seen.kind == ev.kind:
                ev.node, ev.time, ev.time_note = seen.node, seen.time, seen.time_note
            yield ev

    streams = []
    pasted = {r.path for r in analysis.analysed if is_pasted(r)}  # read line by line already
    formats = {r.path: r.format for r in analysis.analysed if r.path not in pasted}
    for source in sources:
        report = FileReport(path=source.display)
        if source.display in pasted:  # a ticket: small, its lines in any order of time
            streams.append(iter(sorted(_pasted_full(source, report), key=_order)))
            continue
        if source.display not in formats:
            continue
        fmt_id = registry.source_names().get(formats[source.display] or "", None)
        fmt = registry.get(fmt_id) if fmt_id else None
        if fmt is None or fmt.spec.layout != "lines":
            continue
        streams.append(one_file(source, analyser.iter_lines(fmt, source, report,
                                                            full_view=True)))
    documents = iter([e for e in analysis.events if e.source == "cm_ctl_query"])
    merged = heapq.merge(*streams, documents, key=lambda e: (e.time is None, e.time or _MIN))
    return analysis, merged


_MIN = datetime.min.replace(tzinfo=UTC)


def _order(ev: Event) -> tuple[object, ...]:
    # Ties (same millisecond on two hosts) keep a stable, reproducible order.
    return (ev.time is None, ev.time or datetime.min, ev.node, ev.file, ev.line)


def assign_nodes(events: list[Event], cluster: ClusterMap,
                 hints: dict[str, tuple[str | None, int | None]]) -> None:
    """Put the canonical node on every event, and resolve the nodes a message names."""
    # the node a file's folders give, looked up once per file rather than per event
    by_file: dict[str, tuple[str | None, ClusterNode | None]] = {}
    for ev in events:
        known = by_file.get(ev.file)
        if known is None:
            host, dn = hints.get(ev.file, (None, None))
            known = by_file[ev.file] = (host, cluster.of_folder(host, dn))
        host, folder_node = known
        node = cluster.origin_of(ev) or folder_node
        if node is None and ev.source == "cm_ctl_query":
            row_host = ev.fields.get("host")
            node = cluster.by_host(str(row_host)) if row_host else None
        if node is None:
            dn = app_instance(ev.fields.get("app"))
            if dn is not None:
                node = cluster.find(dn_instance=dn)
        # tool output with no host folder (cm_ctl query, an obclient session) speaks for the
        # whole cluster
        cluster_wide = ev.source == "cm_ctl_query" or ev.fields.get("scope") == "cluster"
        ev.node = node.key if node else ("cluster" if cluster_wide else host or "unknown")
        if field_roles(ev.fields).ids:  # most lines name no node id
            _resolve_subjects(ev, cluster)
        cluster.resolve_subjects(ev)


def _resolve_subjects(ev: Event, cluster: ClusterMap) -> None:
    f = ev.fields
    if isinstance(f.get("peer_inst"), int):
        peer = cluster.find(dms_inst=f["peer_inst"])
        if peer:
            f["peer_node"] = peer.key
    subject = None
    if isinstance(f.get("cm_node"), int) and ev.source != "cm_ctl_query":
        subject = cluster.find(cm_node=f["cm_node"])
    elif isinstance(f.get("inst_id"), int) and ev.source != "cm_ctl_query":
        subject = cluster.find(dms_inst=f["inst_id"])
    elif isinstance(f.get("dn_instance"), int):
        subject = cluster.find(dn_instance=f["dn_instance"])
    elif isinstance(f.get("instance"), int) and f["instance"] > 1000:
        subject = cluster.find(dn_instance=f["instance"]) or cluster.find(
            dss_instance=f["instance"])
    if subject:
        f["subject_node"] = subject.key


def run(paths: list[Path], options: Options | None = None, rules_dirs: list[Path] | None = None,
        registry: Registry | None = None,
        progress: Progress | None = None):  # type: ignore[no-untyped-def]
    """Load the rules (refusing broken ones), analyse the bundle, diagnose it."""
    from reformdiag.diagnose.anchors import rule_anchors
    from reformdiag.diagnose.catalog import rule_set
    from reformdiag.diagnose.engine import diagnose

    options = options or Options()
    registry = registry or default_registry()
    rules = rule_set(rules_dirs, registry)
    for fmt, phrases in rule_anchors(rules).items():
        options.extra_anchors.setdefault(fmt, []).extend(phrases)
    with gc_paused():
        analysis = analyse(paths, options, registry, progress)
        diagnosis = diagnose(analysis.events, analysis.inputs, analysis.cluster, rules,
                             quote=analysis.quote)
    return analysis, diagnosis


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a bundle's events are loaded and diagnosed.

    Everything built here lives until the report is written, and records make no reference
    cycles; yet every few thousand new objects the collector walked all of them again: 20% of
    the parent's time on the 1 GB benchmark (0.43 -> 0.34 s). Reference counting still frees
    what is dropped; the collector runs again afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
