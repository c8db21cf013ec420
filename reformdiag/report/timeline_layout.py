"""Report stage: where the timeline picture puts each node, event and episode (layout only).

The picture answers "what happened on which node, and when" for the readers of an incident
report. Bundles often span days (a CM agent log from last week) while the incident lasts
minutes, so one linear axis over the whole span would squeeze the incident into a pixel. The
layout therefore has a *view*: the findings' window (their start, end and evidence times),
widened to the episodes that overlap it and padded with some context. When the view is only
part of the logs, the renderers add an overview of the whole span with the view marked, and
say how many events of each lane lie outside it. Without findings the view covers the
episodes (what the cluster did), or everything.

Input is the JSON report document (``report_dict``), so a saved report renders the same
picture. The SVG (``svg_timeline.py``) and the markdown text chart both draw this layout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

# Tick steps in seconds, from 100 ms to a week: "nice" values a reader can add up.
TICK_STEPS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200,
              10800, 21600, 43200, 86400, 172800, 604800)
MIN_VIEW = timedelta(seconds=10)  # an incident of one instant still gets some context
# The view may zoom only if it leaves out a real part of the logs; otherwise show everything.
ZOOM_IF_BELOW = 0.8
# Episodes overlapping the incident widen the view, but a days-long one must not undo the zoom.
WIDEN_AT_MOST = timedelta(minutes=10)
LEVEL_CLASS = {"panic": "error", "fatal": "error", "error": "error", "warning": "warning"}


# The calendar's ends, whole seconds (a tick rounded to the millisecond stays inside).
_FIRST = datetime(1, 1, 1, tzinfo=UTC)
_LAST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def _plus(moment: datetime, delta: timedelta) -> datetime:
    """``moment + delta``, held at the calendar's ends: a bundle with a zeroed ``0001-01-01``
    time still gets its picture."""
    try:
        return min(max(moment + delta, _FIRST), _LAST)
    except OverflowError:
        return _LAST if delta > timedelta(0) else _FIRST


def parse_time(text: str | None) -> datetime | None:
    """``2024-09-19T09:14:12.592Z`` (the report's UTC times) as an aware datetime."""
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def level_class(level: str) -> str:
    """``error`` (error and worse), ``warning``, or ``other`` (named events below warning)."""
    return LEVEL_CLASS.get(level, "other")


@dataclass
class Mark:
    """One event on a lane (a notable event, or an evidence line)."""

    time: datetime
    level: str
    kind: str
    message: str
    where: str  # file:line
    event: int | None = None  # index in the notable-event table, for links
    evidence: list[int] = field(default_factory=list)  # evidence numbers (1-based)

    @property
    def cls(self) -> str:
        return level_class(self.level)


@dataclass
class Bar:
    """One episode (reform round, failover attempt...) on a lane; ``row`` stacks overlaps."""

    start: datetime
    end: datetime
    kind: str
    summary: str
    outcome: str
    level: str = "info"
    row: int = 0

    @property
    def tone(self) -> str:
        """``success``, ``failed``, ``other`` (a warning that is no failure) or ``none``.

        Episode builders set the level (warning when it went wrong) and a free-text outcome
        ("success", "new leader", "no arbitrator: both sides shut down"); the level decides.
        """
        if level_class(self.level) == "other":
            return "success" if self.outcome not in ("", "done") else "none"
        failed = "fail" in self.outcome or self.outcome.startswith("no ") or self.outcome in (
            "lost", "absent")
        return "failed" if failed or level_class(self.level) == "error" else "other"


@dataclass
class Lane:
    """One node: its marks (all of them) and the episode bars inside the view."""

    node: str
    label: str  # "inst 0, dn_6001": the other names of the node
    marks: list[Mark] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    rows: int = 0
    before: int = 0  # marks earlier than the view
    after: int = 0  # marks later than the view


@dataclass
class Layout:
    """Where everything goes: the whole span, the view, the incident window, the lanes.

    The view is drawn on a *broken axis*: quiet gaps longer than a good part of the view
    (a start-up on Monday, a switchover on Wednesday) are cut out and drawn as a narrow
    break, so both bursts of activity stay readable. ``segments`` are the parts kept.
    """

    start: datetime
    end: datetime
    view_start: datetime
    view_end: datetime
    lanes: list[Lane]
    incident: tuple[datetime, datetime] | None = None
    incident_rules: list[str] = field(default_factory=list)
    segments: list[tuple[datetime, datetime]] = field(default_factory=list)
    activity: list[int] = field(default_factory=list)  # marks and bar ends per segment

    def __post_init__(self) -> None:
        if not self.segments:
            self.segments, self.activity = [(self.view_start, self.view_end)], [1]
        self._shares = _shares(self.segments, self.activity)

    @property
    def zoomed(self) -> bool:
        return self.view_start > self.start or self.view_end < self.end

    def fraction(self, moment: datetime, overview: bool = False) -> float:
        """Position of ``moment`` on the view's axis (or the whole span's), 0.0 to 1.0."""
        if overview:
            width = (self.end - self.start).total_seconds() or 1.0
            return (moment - self.start).total_seconds() / width
        offset = 0.0
        for i, ((lo, hi), share) in enumerate(zip(self.segments, self._shares, strict=True)):
            if moment <= hi or i == len(self.segments) - 1:
                width = (hi - lo).total_seconds() or 1.0
                return offset + share * (moment - lo).total_seconds() / width
            nxt = self.segments[i + 1][0]
            if moment < nxt:  # inside a cut-out gap: across the break
                return offset + share + BREAK * (moment - hi) / (nxt - hi)
            offset += share + BREAK
        return offset

    def breaks(self) -> list[tuple[float, float, timedelta]]:
        """Each break: where it starts and ends (fractions) and how long the cut-out gap is."""
        out, offset = [], 0.0
        for i, share in enumerate(self._shares[:-1]):
            offset += share
            out.append((offset, offset + BREAK, self.segments[i + 1][0] - self.segments[i][1]))
            offset += BREAK
        return out

    def seconds_per_unit(self) -> timedelta:
        """The finest scale of the axis: the time one whole axis width stands for there."""
        return min((hi - lo) / share for (lo, hi), share in zip(self.segments, self._shares,
                                                                 strict=True))

    def in_view(self, moment: datetime) -> bool:
        return self.view_start <= moment <= self.view_end

    def ticks(self, target: int = 8, overview: bool = False
              ) -> list[tuple[float, list[datetime]]]:
        """Per segment (one for the overview): a nice step in seconds and its tick times."""
        if overview:
            return [_ticks(self.start, self.end, target)]
        return [_ticks(lo, hi, max(2, round(target * share)))
                for (lo, hi), share in zip(self.segments, self._shares, strict=True)]


BREAK = 0.035  # width of one break, as a fraction of the axis
MIN_SHARE = 0.08  # a short burst of activity still gets room for its marks
MAX_BREAKS = 4
SPLIT_GAP = 0.5  # a gap longer than half the time still shown is cut out
MIN_CUT = timedelta(minutes=2)  # shorter silences are part of one burst of activity


def _shares(segments: list[tuple[datetime, datetime]], activity: list[int]) -> list[float]:
    """Room per segment: half by how long it lasts, half by how much happens in it.

    By duration alone a burst of 30 events in 10 s next to two quiet minutes gets a sliver;
    by activity alone the axis would stop meaning time. MIN_SHARE keeps a lone event visible.
    """
    room = 1.0 - BREAK * (len(segments) - 1)
    secs = [max((hi - lo).total_seconds(), 1e-3) for lo, hi in segments]
    counts = [max(n, 1) for n in activity] if len(activity) == len(segments) else [1] * len(secs)
    raw = [max(0.5 * s / sum(secs) + 0.5 * n / sum(counts), MIN_SHARE)
           for s, n in zip(secs, counts, strict=True)]
    return [room * r / sum(raw) for r in raw]


def _ticks(lo: datetime, hi: datetime, target: int) -> tuple[float, list[datetime]]:
    width = max((hi - lo).total_seconds(), 0.001)
    step = next((s for s in TICK_STEPS if width / s <= target), TICK_STEPS[-1])
    first = math.ceil(lo.timestamp() / step - 1e-9) * step
    out = []
    t = first
    while t <= hi.timestamp() + 1e-9:
        out.append(datetime.fromtimestamp(round(t, 3), UTC))
        t += step
    return step, out


def _segments(times: list[datetime], lo: datetime, hi: datetime
              ) -> tuple[list[tuple[datetime, datetime]], list[int]]:
    """The view cut at its quiet gaps, the longest first.

    A gap is cut while it is longer than SPLIT_GAP of the time still shown (so once days of
    silence are gone, minutes of silence between two bursts count) and longer than
    MIN_CUT; at most MAX_BREAKS cuts.
    """
    inside = sorted(t for t in times if lo <= t <= hi)
    if len(inside) < 2 or hi <= lo:
        return [(lo, hi)], [len(inside)]
    gaps = sorted(((b - a, i) for i, (a, b) in enumerate(zip(inside, inside[1:], strict=False))),
                  reverse=True)
    shown = hi - lo
    cuts: list[int] = []
    for gap, i in gaps[:MAX_BREAKS]:
        if gap <= MIN_CUT or gap <= (shown - gap) * SPLIT_GAP:
            break
        cuts.append(i)
        shown -= gap
    if not cuts:
        return [(lo, hi)], [len(inside)]
    pieces, counts, first = [], [], 0
    for i in [*sorted(cuts), len(inside) - 1]:
        pieces.append((inside[first], inside[i]))
        counts.append(i + 1 - first)
        first = i + 1
    out = []
    for n, (a, b) in enumerate(pieces):
        pad = max((b - a) * 0.06, MIN_VIEW / 2)
        out.append((lo if n == 0 else _plus(a, -pad),
                    hi if n == len(pieces) - 1 else _plus(b, pad)))
    return out, counts


def tick_label(moment: datetime, step: float) -> str:
    """The label a tick needs at this step: seconds with a decimal, seconds, minutes, days."""
    if step < 1:
        return moment.strftime("%H:%M:%S.") + f"{moment.microsecond // 100000}"
    if step < 60:
        return moment.strftime("%H:%M:%S")
    if step < 86400:
        return moment.strftime("%H:%M")
    return moment.strftime("%m-%d")


def node_label(node: dict[str, Any]) -> str:
    """The other names of a node, as ``ClusterNode.label`` shows them: ``inst 0, dn_6001``."""
    bits = []
    if node.get("dms_inst") is not None:
        bits.append(f"inst {node['dms_inst']}")
    if node.get("dn_instance") is not None:
        bits.append(f"dn_{node['dn_instance']}")
    for space, value in (node.get("ids") or {}).items():
        if not str(node["node"]).endswith(f"-{value}"):
            bits.append(f"{'node' if space == 'ndb_node' else space} {value}")
    return ", ".join(bits)


def number_evidence(findings: list[dict[str, Any]]) -> list[list[int]]:
    """Evidence numbers 1..N across the top-level findings, in report order.

    The findings section and the picture use the same numbers, so a reader can find an
    evidence line on the timeline.
    """
    out, n = [], 0
    for f in findings:
        nums = []
        for _ in f["evidence"]:
            n += 1
            nums.append(n)
        out.append(nums)
    return out


def incident_window(findings: list[dict[str, Any]]) -> tuple[datetime, datetime] | None:
    """From the earliest to the latest time a top-level finding or its evidence names.

    Symptoms folded under a cause are left out: they often run on after the failure (a slow
    reform that ends minutes later) and would stretch the window over the recovery.
    """
    times: list[datetime] = []
    for f in findings:
        times.extend(t for t in (parse_time(f["start"]), parse_time(f["end"])) if t)
        times.extend(t for ev in f["evidence"] if (t := parse_time(ev["time"])))
    return (min(times), max(times)) if times else None


def _outcome(episode: dict[str, Any]) -> str:
    fields = episode.get("fields") or {}
    outcome = str(fields.get("outcome", ""))
    if not outcome and "recovered" in fields:
        outcome = "success" if fields.get("recovered") else "failed"
    return outcome


def build_layout(doc: dict[str, Any]) -> Layout | None:
    """The layout of a report document; None when nothing in it has a time."""
    findings = doc["findings"]
    evidence_at: dict[tuple[str, int], list[int]] = {}
    evidence_rows: dict[tuple[str, int], dict[str, Any]] = {}
    for f, nums in zip(findings, number_evidence(findings), strict=True):
        for ev, num in zip(f["evidence"], nums, strict=True):
            evidence_at.setdefault((ev["file"], ev["line"]), []).append(num)
            evidence_rows.setdefault((ev["file"], ev["line"]), ev)
    lanes: dict[str, Lane] = {}
    labels = {n["node"]: node_label(n) for n in doc["cluster"]}
    for node in labels:  # the cluster's order first: the order the verdict names nodes in
        lanes[node] = Lane(node, labels[node])

    def lane(node: str) -> Lane:
        if node not in lanes:
            lanes[node] = Lane(node, labels.get(node, ""))
        return lanes[node]

    seen: set[tuple[str, int]] = set()
    for i, ev in enumerate(doc["notable_events"]):
        t = parse_time(ev["time"])
        if t is None:
            continue
        key = (ev["file"], ev["line"])
        seen.add(key)
        lane(ev["node"]).marks.append(Mark(t, ev["level"], ev["kind"], ev["message"],
                                           f"{ev['file']}:{ev['line']}", i,
                                           evidence_at.get(key, [])))
    for key, ev in evidence_rows.items():  # evidence that is not a notable event (an info line)
        t = parse_time(ev["time"])
        if key in seen or t is None:
            continue
        lane(ev["node"]).marks.append(Mark(t, "info", ev.get("kind") or "log", ev["text"],
                                           f"{ev['file']}:{ev['line']}", None, evidence_at[key]))
    bars: list[tuple[str, Bar]] = []
    for ep in doc["episodes"]:
        start = parse_time(ep["start"])
        if start is None:
            continue
        end = parse_time(ep["end"]) or start
        bars.append((ep["node"], Bar(start, max(end, start), ep["kind"], ep["summary"],
                                     _outcome(ep), ep.get("level") or "info")))
    times = [m.time for ln in lanes.values() for m in ln.marks]
    times += [t for _, b in bars for t in (b.start, b.end)]
    if not times:
        return None
    start, end = min(times), max(times)
    incident = incident_window(findings)
    view_start, view_end = _view(start, end, incident, [b for _, b in bars])
    layout = Layout(start, end, view_start, view_end, [], incident,
                    list(dict.fromkeys(f["rule"] for f in findings)),
                    *_segments(times, view_start, view_end))
    for node, bar in bars:
        if bar.end >= view_start and bar.start <= view_end:
            lane(node).bars.append(bar)
    for ln in lanes.values():
        ln.marks.sort(key=lambda m: m.time)
        ln.before = sum(1 for m in ln.marks if m.time < view_start)
        ln.after = sum(1 for m in ln.marks if m.time > view_end)
        ln.rows = _pack(ln.bars, layout.seconds_per_unit() * 0.006)
    layout.lanes = [ln for ln in lanes.values() if ln.marks or ln.bars]
    return layout


def _view(start: datetime, end: datetime, incident: tuple[datetime, datetime] | None,
          bars: list[Bar]) -> tuple[datetime, datetime]:
    if incident is not None:
        lo, hi = incident
        for b in bars:  # a reform that began before the first finding is part of the story
            if b.start <= hi and b.end >= lo:
                lo = min(lo, max(b.start, _plus(incident[0], -WIDEN_AT_MOST)))
                hi = max(hi, min(b.end, _plus(incident[1], WIDEN_AT_MOST)))
        pad = max((hi - lo) * 0.12, MIN_VIEW / 2)
        lo, hi = _plus(lo, -pad), _plus(hi, pad)
    else:  # nothing failed: the whole span, its quiet gaps cut out (see Layout)
        return start, end
    lo, hi = max(lo, start), min(hi, end)
    if hi <= lo or (hi - lo) >= (end - start) * ZOOM_IF_BELOW:
        return start, end
    return lo, hi


def _pack(bars: list[Bar], gap: timedelta) -> int:
    """Stack overlapping bars in rows (first fit by start time); return the number of rows."""
    row_end: list[datetime] = []
    for bar in sorted(bars, key=lambda b: (b.start, b.end)):
        end = max(bar.end, _plus(bar.start, gap))
        for i, last in enumerate(row_end):
            if _plus(last, gap) <= bar.start:
                bar.row, row_end[i] = i, end
                break
        else:
            bar.row = len(row_end)
            row_end.append(end)
    return len(row_end)
