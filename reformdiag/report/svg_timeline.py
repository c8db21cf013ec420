"""Report stage: the timeline picture as inline SVG (one lane per node, a shared UTC axis).

Drawn from ``timeline_layout.Layout``: an overview of the whole span when the picture zooms
on the incident, then one lane per node with its episodes as bars (stacked when they
overlap) and its notable events as marks, evidence lines as numbered badges (the numbers of
the Findings section), and the incident window shaded across every lane. Every mark and bar
carries a ``<title>`` (the browser's tooltip) and links to its row in the event table.

The SVG is plain markup with no script, no external font and no image, so the page that
embeds it works offline and prints. Every piece of log text goes through ``escape``.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from reformdiag.report.common import duration, short_time
from reformdiag.report.timeline_layout import Bar, Lane, Layout, Mark, tick_label
from reformdiag.timeline.clock import stamp

WIDTH = 1160
GUTTER = 188  # node labels
X0, X1 = GUTTER + 12, WIDTH - 28
AXIS_H = 34
BAR_H, BAR_GAP = 14, 4
MARK_ROW = 26
LANE_PAD = 7
OVERVIEW_ROW = 6
CHAR_W = 6.3  # average width of a 10.5 px character, to decide whether a label fits
MERGE_PX = 4  # marks of one lane and class closer than this are drawn as one (tooltip lists all)
BADGE_MERGE_PX = 16
FONT = "system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', 'Liberation Sans', sans-serif"

TONE_STYLE = {  # Bar.tone -> fill, stroke
    "success": ("#bbf7d0", "#15803d"),
    "failed": ("#fecaca", "#b91c1c"),
    "other": ("#fde68a", "#b45309"),
    "none": ("#dbeafe", "#1d4ed8"),
}
MARK_STYLE = {"error": ("#dc2626", "#7f1d1d"), "warning": ("#f59e0b", "#92400e"),
              "other": ("#64748b", "#334155")}
EPISODE_NAME = {"first_round_reform": "first-round reform", "reform_round": "reform round",
                "failover_attempt": "failover attempt", "failover_recovery": "failover recovery",
                "switchover": "switchover", "kick_out": "kick-out", "primary_overlap":
                "two primaries", "membership_ring": "ring", "member_absence": "absence",
                "stateful_merge": "stateful merge", "fencing": "fencing",
                "ndb_start": "NDB start", "president_election": "president election",
                "dual_president": "two presidents", "leader_change": "leader change",
                "server_lease": "lease expiry"}


def _t(text: object) -> str:
    return escape(str(text), quote=True)


def _x(layout: Layout, moment: datetime, overview: bool = False) -> float:
    return X0 + (X1 - X0) * layout.fraction(moment, overview)


def _lane_height(lane: Lane) -> int:
    bars = lane.rows * (BAR_H + BAR_GAP)
    return LANE_PAD + bars + MARK_ROW + LANE_PAD


def _mark_title(marks: list[Mark]) -> str:
    head = marks[0]
    if len(marks) == 1:
        return (f"{short_time(head.time)} UTC  {head.level}  {head.kind}\n"
                f"{head.message.splitlines()[0][:400] if head.message else ''}\n{head.where}")
    lines = [f"{len(marks)} events, {short_time(marks[0].time)} .. {short_time(marks[-1].time)[11:]} UTC"]
    for m in marks[:8]:
        lines.append(f"{short_time(m.time)[11:]}  {m.level}  {m.kind}: "
                     f"{m.message.splitlines()[0][:160] if m.message else ''}")
    if len(marks) > 8:
        lines.append(f"... and {len(marks) - 8} more (see the event table)")
    return "\n".join(lines)


def _shape(cls: str, x: float, y: float) -> str:
    fill, stroke = MARK_STYLE[cls]
    if cls == "error":
        r = 6.0
        return (f'<path d="M{x:.1f} {y - r:.1f}L{x + r:.1f} {y:.1f}L{x:.1f} {y + r:.1f}'
                f'L{x - r:.1f} {y:.1f}Z" fill="{fill}" stroke="{stroke}" stroke-width="1"/>')
    if cls == "warning":
        r = 6.0
        return (f'<path d="M{x:.1f} {y - r:.1f}L{x + r:.1f} {y + r * 0.8:.1f}'
                f'L{x - r:.1f} {y + r * 0.8:.1f}Z" fill="{fill}" stroke="{stroke}" '
                'stroke-width="1"/>')
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.6" fill="{fill}" stroke="{stroke}" ' \
           'stroke-width="0.6"/>'


def _group_marks(layout: Layout, marks: list[Mark], px: float
                 ) -> list[tuple[float, list[Mark]]]:
    """Marks closer than ``px`` on screen, grouped (their x is the first mark's)."""
    groups: list[tuple[float, list[Mark]]] = []
    for m in marks:
        x = _x(layout, m.time)
        if groups and x - groups[-1][0] < px:
            groups[-1][1].append(m)
        else:
            groups.append((x, [m]))
    return groups


def _lane_svg(layout: Layout, lane: Lane, top: float, index: int, back: list[str],
              out: list[str]) -> None:
    """Background into ``back`` (drawn under the grid and the incident), the rest into ``out``."""
    height = _lane_height(lane)
    fill = "#f8fafc" if index % 2 == 0 else "#ffffff"
    back.append(f'<rect class="lane-bg" data-node="{_t(lane.node)}" x="0" y="{top:.1f}" '
                f'width="{WIDTH}" height="{height}" fill="{fill}"/>'
                f'<line x1="0" x2="{WIDTH}" y1="{top + height:.1f}" y2="{top + height:.1f}" '
                'stroke="#e2e8f0"/>')
    out.append(f'<g class="lane" data-node="{_t(lane.node)}">')
    name_y = top + height / 2 + (0 if lane.label else 4)
    out.append(f'<text x="10" y="{name_y:.1f}" font-size="13" font-weight="600" '
               f'fill="#0f172a">{_t(_clip(lane.node, 24))}<title>{_t(lane.node)}</title></text>')
    if lane.label:
        out.append(f'<text x="10" y="{name_y + 15:.1f}" font-size="11" fill="#475569">'
                   f'{_t(_clip(lane.label, 30))}</text>')
    # episodes; a bar's label may run on until the next bar of its row
    for bar in lane.bars:
        following = [_bar_x(layout, b)[0] for b in lane.bars
                     if b.row == bar.row and b.start > bar.start]
        following += [X0 + (X1 - X0) * f1 for f1, _, _ in layout.breaks()
                      if X0 + (X1 - X0) * f1 > _bar_x(layout, bar)[1]]
        _bar_svg(layout, bar, top + LANE_PAD + bar.row * (BAR_H + BAR_GAP),
                 min(following, default=X1 + 40), out)
    # events
    y = top + LANE_PAD + lane.rows * (BAR_H + BAR_GAP) + MARK_ROW / 2
    out.append(f'<line x1="{X0}" x2="{X1}" y1="{y:.1f}" y2="{y:.1f}" stroke="#cbd5e1" '
               'stroke-dasharray="2 3"/>')
    visible = [m for m in lane.marks if layout.in_view(m.time)]
    for cls in ("other", "warning", "error"):  # worst drawn last, on top
        plain = [m for m in visible if m.cls == cls and not m.evidence]
        for x, group in _group_marks(layout, plain, MERGE_PX):
            href = f"#e{group[0].event}" if group[0].event is not None else None
            shape = _shape(cls, x, y)
            body = f'<title>{_t(_mark_title(group))}</title>{shape}'
            out.append(f'<a href="{href}" class="mark {cls}">{body}</a>' if href
                       else f'<g class="mark {cls}">{body}</g>')
    for x, group in _group_marks(layout, [m for m in visible if m.evidence], BADGE_MERGE_PX):
        nums = sorted({n for m in group for n in m.evidence})
        label = ",".join(str(n) for n in nums)
        w = 8 + 7.2 * len(label)
        out.append(f'<a href="#ev-{nums[0]}" class="mark evidence">'
                   f'<title>{_t("evidence " + label + chr(10) + _mark_title(group))}</title>'
                   f'<rect x="{x - w / 2:.1f}" y="{y - 9:.1f}" width="{w:.1f}" height="18" '
                   'rx="9" fill="#1e293b" stroke="#ffffff" stroke-width="1.5"/>'
                   f'<text x="{x:.1f}" y="{y + 4:.1f}" font-size="11.5" font-weight="700" '
                   f'fill="#ffffff" text-anchor="middle">{_t(label)}</text></a>')
    for count, x, anchor, word, arrow in ((lane.before, X0 + 2, "start", "before", "\u2190"),
                                          (lane.after, X1 - 2, "end", "after", "\u2192")):
        if count:
            text = f"{arrow} {count}" if arrow == "\u2190" else f"{count} {arrow}"
            out.append(f'<text x="{x}" y="{top + height - 4:.1f}" font-size="10.5" '
                       f'fill="#64748b" text-anchor="{anchor}">{_t(text)}<title>{count} '
                       f'notable event(s) of {_t(lane.node)} {word} this view (see the '
                       'overview and the event table)</title></text>')
    out.append("</g>")


def _bar_svg(layout: Layout, bar: Bar, y: float, room_until: float, out: list[str]) -> None:
    """One episode; its name goes inside, or after it when the row is free up to ``room_until``."""
    x1, x2 = _bar_x(layout, bar)
    fill, stroke = TONE_STYLE[bar.tone]
    secs = (bar.end - bar.start).total_seconds()
    title = (f"{bar.summary}\n{short_time(bar.start)} .. {short_time(bar.end)[11:]} UTC"
             + (f" ({duration(secs)})" if secs else ""))
    name = EPISODE_NAME.get(bar.kind, bar.kind.replace("_", " "))
    label = f"{name}: {bar.outcome}" if bar.outcome and bar.outcome != "done" else name
    out.append(f'<g class="episode {_t(bar.kind)}"><title>{_t(title)}</title>'
               f'<rect x="{x1:.1f}" y="{y:.1f}" width="{x2 - x1:.1f}" height="{BAR_H}" rx="3" '
               f'fill="{fill}" stroke="{stroke}" stroke-width="1"/>')
    text_y = y + BAR_H - 3.5
    for text in dict.fromkeys((label, name, name.split()[0])):
        if (x2 - x1) - 8 >= CHAR_W * len(text):
            out.append(f'<text x="{x1 + 4:.1f}" y="{text_y:.1f}" font-size="10.5" '
                       f'fill="#0f172a">{_t(text)}</text>')
            break
        if x2 + 4 + CHAR_W * len(text) <= min(room_until - 4, X1 + 20):
            out.append(f'<text x="{x2 + 4:.1f}" y="{text_y:.1f}" font-size="10.5" '
                       f'fill="#334155">{_t(text)}</text>')
            break
    out.append("</g>")


def _bar_x(layout: Layout, bar: Bar) -> tuple[float, float]:
    x1 = max(_x(layout, bar.start), X0)
    x2 = min(_x(layout, bar.end), X1)
    if x2 - x1 < 4:
        x1, x2 = x1 - 2, x1 + 2
    return x1, x2


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "\u2026"


def _axis(layout: Layout, top: float, bottom: float, out: list[str]) -> None:
    """Ticks per segment of the broken axis; labels that would collide are left out."""
    days = {layout.view_start.date(), layout.view_end.date()}
    last_day = layout.view_start.date() if len(days) == 1 else None
    taken: list[tuple[float, float]] = [(X0 + (X1 - X0) * a, X0 + (X1 - X0) * b)
                                        for a, b, _ in layout.breaks()]
    for (lo, hi), (step, ticks) in zip(layout.segments, layout.ticks(target=9), strict=True):
        placed = False
        for t in ticks:
            x = _x(layout, t)
            out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top + AXIS_H - 6}" '
                       f'y2="{bottom:.1f}" stroke="#e2e8f0"/>')
            placed |= _tick_text(t, step, x, top, taken, out, last_day)
            last_day = t.date() if placed else last_day
        if not placed:  # a narrow segment: one label at its middle says when it is
            middle = lo + (hi - lo) / 2
            if _tick_text(middle, 1, _x(layout, middle), top, taken, out, last_day):
                last_day = middle.date()
    day = stamp(layout.view_start)[:10]
    out.append(f'<text x="10" y="{top + AXIS_H - 10}" font-size="11.5" font-weight="600" '
               f'fill="#334155">UTC{_t(" " + day) if len(days) == 1 else ""}</text>')


def _tick_text(t: datetime, step: float, x: float, top: float, taken: list[tuple[float, float]],
               out: list[str], last_day: object) -> bool:
    label = tick_label(t, step)
    if step < 86400 and t.date() != last_day:
        label = f"{t:%m-%d} {label}"  # the axis crosses a day: say which
    half = 3.4 * len(label) + 4
    if any(a < x + half and x - half < b for a, b in taken) or x - half < X0 - 20:
        return False
    taken.append((x - half, x + half))
    out.append(f'<text x="{x:.1f}" y="{top + AXIS_H - 10}" font-size="11.5" '
               f'fill="#334155" text-anchor="middle">{_t(label)}</text>')
    return True


def _breaks(layout: Layout, top: float, bottom: float, out: list[str]) -> None:
    """Each cut-out quiet gap: a white band with zigzag edges and how long it lasted."""
    for f1, f2, gap in layout.breaks():
        x1, x2 = X0 + (X1 - X0) * f1, X0 + (X1 - X0) * f2
        zig = []
        y, left = top, True
        while y < bottom:
            zig.append(f"{x1 + (0 if left else 4):.1f} {y:.1f}")
            y, left = y + 6, not left
        path = "M" + "L".join(zig)
        shifted = "M" + "L".join(f"{float(p.split()[0]) + (x2 - x1):.1f} {p.split()[1]}"
                                 for p in zig)
        label = duration(gap.total_seconds())
        out.append(f'<g class="break"><title>{_t(label)} without any event, cut out</title>'
                   f'<rect x="{x1:.1f}" y="{top:.1f}" width="{x2 - x1:.1f}" '
                   f'height="{bottom - top:.1f}" fill="#ffffff"/>'
                   f'<path d="{path}" fill="none" stroke="#94a3b8"/>'
                   f'<path d="{shifted}" fill="none" stroke="#94a3b8"/>'
                   f'<text x="{(x1 + x2) / 2:.1f}" y="{top - 20:.1f}" font-size="10.5" '
                   f'fill="#64748b" text-anchor="middle">{_t(label)}</text></g>')


def _overview(layout: Layout, top: float, out: list[str]) -> float:
    """The whole span, one thin row per lane, the view outlined; returns the height used."""
    rows = len(layout.lanes)
    track_top = top + 18
    track_h = rows * OVERVIEW_ROW + 4
    out.append('<g class="overview">')
    out.append(f'<text x="10" y="{track_top + track_h / 2 + 4:.1f}" font-size="11.5" '
               'font-weight="600" fill="#334155">whole span</text>')
    out.append(f'<rect x="{X0}" y="{track_top:.1f}" width="{X1 - X0}" height="{track_h}" '
               'fill="#f1f5f9" stroke="#cbd5e1"/>')
    for i, lane in enumerate(layout.lanes):
        y = track_top + 2 + i * OVERVIEW_ROW + OVERVIEW_ROW / 2
        drawn: set[tuple[int, str]] = set()
        for m in lane.marks:
            x = _x(layout, m.time, overview=True)
            key = (round(x), m.cls)
            if key in drawn:
                continue
            drawn.add(key)
            out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y - 2.5:.1f}" y2="{y + 2.5:.1f}" '
                       f'stroke="{MARK_STYLE[m.cls][0]}" stroke-width="1.2"/>')
    vx1, vx2 = _x(layout, layout.view_start, True), _x(layout, layout.view_end, True)
    vx2 = max(vx2, vx1 + 3)
    out.append(f'<rect x="{vx1:.1f}" y="{track_top - 3:.1f}" width="{vx2 - vx1:.1f}" '
               f'height="{track_h + 6}" fill="none" stroke="#1d4ed8" stroke-width="2">'
               '<title>the part shown below</title></rect>')
    ((step, ticks),) = layout.ticks(target=7, overview=True)
    for t in ticks:
        x = _x(layout, t, True)
        label = t.strftime("%m-%d %H:%M") if step < 86400 else stamp(t)[:10]
        out.append(f'<text x="{x:.1f}" y="{top + 12}" font-size="10.5" fill="#64748b" '
                   f'text-anchor="middle">{_t(label)}</text>')
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top + 14}" y2="{track_top:.1f}" '
                   'stroke="#94a3b8"/>')
    bottom = track_top + track_h + 3
    gap = 22
    # zoom lines from the outlined part to the detail view below
    out.append(f'<path d="M{vx1:.1f} {bottom:.1f}L{X0} {bottom + gap}M{vx2:.1f} {bottom:.1f}'
               f'L{X1} {bottom + gap}" stroke="#93c5fd" stroke-width="1.2" fill="none"/>')
    out.append("</g>")
    return bottom + gap - top


def _legend(top: float, out: list[str]) -> float:
    items: list[tuple[str, str]] = [
        (_shape("error", 0, 0), "error or worse"),
        (_shape("warning", 0, 0), "warning"),
        (_shape("other", 0, 0), "other notable event"),
        ('<rect x="-11" y="-9" width="22" height="18" rx="9" fill="#1e293b"/>'
         '<text x="0" y="4" font-size="11.5" font-weight="700" fill="#fff" '
         'text-anchor="middle">1</text>', "evidence line (see Findings)"),
    ]
    for tone, label in (("success", "episode: success"), ("failed", "episode: failed"),
                        ("other", "episode: went wrong otherwise"),
                        ("none", "episode: no outcome")):
        fill, stroke = TONE_STYLE[tone]
        items.append((f'<rect x="-11" y="-7" width="22" height="14" rx="3" fill="{fill}" '
                      f'stroke="{stroke}"/>', label))
    items.append(('<rect x="-11" y="-8" width="22" height="16" fill="#fee2e2" '
                  'fill-opacity="0.7" stroke="#dc2626" stroke-dasharray="3 2"/>',
                  "incident window (findings)"))
    x, y = 22.0, top + 16
    out.append('<g class="legend">')
    for glyph, label in items:
        width = 34 + 6.6 * len(label) + 18
        if x + width > WIDTH:
            x, y = 22.0, y + 22
        out.append(f'<g transform="translate({x:.1f},{y:.1f})">{glyph}'
                   f'<text x="18" y="4" font-size="11.5" fill="#334155">{_t(label)}</text></g>')
        x += width
    out.append("</g>")
    return y + 14 - top


def render_svg(layout: Layout) -> str:
    """The picture as one ``<svg>`` element (scales to its container's width)."""
    body: list[str] = []
    y = 6.0
    if layout.zoomed:
        y += _overview(layout, y, body)
    axis_top = y
    lanes_top = axis_top + AXIS_H
    lanes_h = sum(_lane_height(ln) for ln in layout.lanes)
    backgrounds: list[str] = []
    content: list[str] = []
    top = lanes_top
    for i, lane in enumerate(layout.lanes):
        _lane_svg(layout, lane, top, i, backgrounds, content)
        top += _lane_height(lane)
    grid: list[str] = []
    _axis(layout, axis_top, lanes_top + lanes_h, grid)
    breaks: list[str] = []
    _breaks(layout, lanes_top - 4, lanes_top + lanes_h, breaks)
    incident: list[str] = []
    if layout.incident is not None:
        i1, i2 = (_x(layout, t) for t in layout.incident)
        if i2 - i1 < 4:
            i1, i2 = (i1 + i2) / 2 - 2, (i1 + i2) / 2 + 2
        rules = ", ".join(layout.incident_rules)
        span = f"{short_time(layout.incident[0])} .. {short_time(layout.incident[1])[11:]} UTC"
        label = f"incident: {rules}"
        anchor, lx = ("middle", (i1 + i2) / 2)
        if lx - 3.3 * len(label) < X0:
            anchor, lx = "start", max(i1, X0)
        elif lx + 3.3 * len(label) > X1:
            anchor, lx = "end", min(i2, X1)
        incident.append(
            f'<g class="incident"><title>incident window {_t(span)} ({_t(rules)})</title>'
            f'<rect x="{i1:.1f}" y="{lanes_top - 4:.1f}" width="{i2 - i1:.1f}" '
            f'height="{lanes_h + 4:.1f}" fill="#fee2e2" fill-opacity="0.55" stroke="#dc2626" '
            'stroke-dasharray="4 3"/>'
            f'<text x="{lx:.1f}" y="{axis_top + 11:.1f}" font-size="11" font-weight="700" '
            f'fill="#b91c1c" text-anchor="{anchor}">{_t(label)}</text></g>')
    legend: list[str] = []
    legend_h = _legend(lanes_top + lanes_h + 8, legend)
    height = lanes_top + lanes_h + 8 + legend_h + 6
    # z-order: lane backgrounds, grid, incident window, then what the lanes show
    desc = (f"{len(layout.lanes)} lane(s), {short_time(layout.view_start)} .. "
            f"{short_time(layout.view_end)} UTC")
    # No xmlns: inline SVG in HTML does not need one, and the page names no URL at all.
    return (f'<svg class="timeline" role="img" '
            f'viewBox="0 0 {WIDTH} {height:.0f}" font-family="{FONT}" '
            f'aria-labelledby="timeline-title timeline-desc">'
            f'<title id="timeline-title">Timeline, one lane per node (UTC)</title>'
            f'<desc id="timeline-desc">{_t(desc)}</desc>'
            + "".join(body) + "".join(backgrounds) + "".join(grid) + "".join(incident)
            + "".join(content) + "".join(breaks) + "".join(legend) + "</svg>")
