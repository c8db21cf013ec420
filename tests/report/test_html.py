"""The HTML incident report, read as markup: self-contained, escaped, complete."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from reformdiag.report.html import render_html
from tests.report.conftest import (
    HOSTILE_FILE,
    SAMPLES,
    document,
    rules,
    sample_id,
)


class _Page(HTMLParser):
    """Every start tag with its attributes, every text node, and the open-tag balance."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.stack: list[str] = []
        self.titles_in_svg = 0
        self._in_svg = 0

    VOID = {"meta", "br", "img", "link", "input", "hr", "col", "source", "wbr"}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "svg":
            self._in_svg += 1
        if tag == "title" and self._in_svg:
            self.titles_in_svg += 1
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1:]}>"
        self.stack.pop()
        if tag == "svg":
            self._in_svg -= 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    parser.close()
    assert parser.stack == [], f"unclosed tags: {parser.stack}"
    return parser


URL_ATTRS = {"src", "href", "xlink:href", "action", "formaction", "poster", "data", "srcset",
             "background", "ping", "manifest"}


def external_references(page: str) -> list[str]:
    """Every URL the page would load or link to: URL attributes, CSS url() and @import."""
    parsed = parse(page)
    refs = [v or "" for _, attrs in parsed.tags for k, v in attrs.items() if k in URL_ATTRS]
    css = " ".join(re.findall(r"<style>(.*?)</style>", page, re.S))
    css += " ".join(a.get("style") or "" for _, a in parsed.tags)
    refs += re.findall(r"url\(\s*['\"]?([^'\")]+)", css, re.I)
    refs += re.findall(r"@import\s+['\"]?([^'\";]+)", css, re.I)
    return [r for r in refs if not r.startswith("#")]


@pytest.mark.scenario
@pytest.mark.parametrize("bundle", SAMPLES, ids=sample_id)
def test_page_is_self_contained_and_complete(bundle: Path) -> None:
    doc = document(bundle)
    page = render_html(doc, [str(bundle)], rules())
    parsed = parse(page)
    tags = [t for t, _ in parsed.tags]
    # nothing to fetch: no script, stylesheet link, image, frame, font or URL at all
    assert not {"script", "link", "img", "iframe", "object", "embed", "image"} & set(tags)
    assert external_references(page) == []
    assert "@font-face" not in page
    # the sections a reader expects, in order
    ids = [a.get("id") for _, a in parsed.tags if a.get("id")]
    order = [i for i in ("verdict", "timeline", "findings", "episodes", "events", "rules",
                         "inputs") if i in ids]
    assert order == sorted(order, key=ids.index)
    assert {"verdict", "timeline", "events", "inputs"} <= set(ids)
    # the full notable-event table, one row per event, each with its own anchor
    rows = [a["id"] for t, a in parsed.tags if t == "tr" and re.fullmatch(r"e\d+", a.get("id") or "")]
    assert len(rows) == len(doc["notable_events"])
    # one lane per node that has something on the timeline, all inside the picture
    lanes = [a["data-node"] for t, a in parsed.tags if t == "g" and a.get("class") == "lane"]
    nodes = {e["node"] for e in doc["notable_events"] if e["time"]} | {
        e["node"] for e in doc["episodes"] if e["start"]}
    assert set(lanes) == nodes and len(lanes) == len(set(lanes))
    assert parsed.titles_in_svg >= len(lanes)  # tooltips on the marks
    # every finding with its severity, references, numbered remediation and evidence
    text = " ".join(parsed.text)
    for f in doc["findings"]:
        assert f["title"] in text and f["rule"] in text
        assert all(r in text for r in f["references"])
        card = page[page.index(f'id="finding-{f["rule"]}"'):]
        assert card.index('<ol class="remediation">') < card.index("</ol>")
        for ev in f["evidence"]:
            assert f"{ev['file']}:{ev['line']}" in text
    if doc["findings"]:
        assert 'class="incident"' in page


@pytest.mark.scenario
def test_log_text_and_file_names_stay_text(hostile_bundle: Path) -> None:
    from reformdiag.pipeline import run
    from reformdiag.report.json_report import report_dict

    analysis, diagnosis = run([hostile_bundle])
    doc = report_dict(analysis, diagnosis)
    page = render_html(doc, [str(hostile_bundle)], rules())
    parsed = parse(page)
    assert not [t for t, _ in parsed.tags if t in ("script", "img")]
    assert "<script" not in page.lower() and "<img" not in page.lower()
    text = "".join(parsed.text)
    # shown as text where a reader looks for it: evidence, event table, tooltip, inputs
    assert text.count("<script>alert(1)</script>") >= 3
    assert HOSTILE_FILE in text
    assert "&amp;amp;" in page  # the literal "&amp;" of the log line, escaped once more
    assert external_references(page) == []


def _doc(findings: list[dict[str, Any]], events: list[tuple[str, str, str]],
         episodes: list[tuple[str, str, str, str]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    """A minimal report document: events are (time, node, level), episodes (start, end,
    node, outcome)."""
    return {
        "findings": findings, "cluster": [{"node": "a", "dms_inst": 0}, {"node": "b"}],
        "notable_events": [{"time": t, "node": n, "level": lv, "kind": "k", "message": "m",
                            "file": f"{n}.log", "line": i + 1}
                           for i, (t, n, lv) in enumerate(events)],
        "episodes": [{"kind": "reform_round", "node": n, "start": s, "end": e, "summary": "r",
                      "level": "info" if o == "success" else "warning",
                      "fields": {"outcome": o}} for s, e, n, o in episodes],
    }


def test_picture_zooms_on_the_incident_and_counts_what_it_leaves_out() -> None:
    from reformdiag.report.timeline_layout import build_layout

    finding = {"rule": "OG001", "start": "2024-01-02T10:00:00.000Z",
               "end": "2024-01-02T10:01:00.000Z", "symptoms": [],
               "evidence": [{"time": "2024-01-02T10:00:30.000Z", "node": "a", "file": "a.log",
                             "line": 2, "text": "x"}]}
    doc = _doc([finding], [("2024-01-01T00:00:00.000Z", "a", "info"),
                           ("2024-01-02T10:00:30.000Z", "a", "error"),
                           ("2024-01-02T10:00:40.000Z", "b", "warning"),
                           ("2024-01-03T00:00:00.000Z", "b", "info")])
    layout = build_layout(doc)
    assert layout is not None and layout.zoomed
    assert layout.incident == (layout.incident[0], layout.incident[1])
    assert layout.view_start < layout.incident[0] and layout.view_end > layout.incident[1]
    assert layout.view_end - layout.view_start < (layout.end - layout.start) / 10
    a, b = layout.lanes
    assert (a.node, a.label, a.before, a.after) == ("a", "inst 0", 1, 0)
    assert (b.before, b.after) == (0, 1)
    assert [m.evidence for m in a.marks] == [[], [1]]  # the evidence line carries its number


def test_quiet_days_are_cut_out_of_a_healthy_timeline() -> None:
    from reformdiag.report.timeline_layout import build_layout

    burst1 = [f"2024-10-14T02:20:{s:02d}.000Z" for s in range(0, 30, 3)]
    burst2 = [f"2024-10-16T06:21:{s:02d}.000Z" for s in range(0, 30, 3)]
    doc = _doc([], [(t, "a", "info") for t in burst1 + burst2])
    layout = build_layout(doc)
    assert layout is not None and not layout.zoomed and len(layout.segments) == 2
    ((f1, f2, gap),) = layout.breaks()
    assert gap.days == 2
    first, last = layout.lanes[0].marks[0], layout.lanes[0].marks[-1]
    xs = [layout.fraction(m.time) for m in layout.lanes[0].marks]
    assert xs == sorted(xs) and xs[0] >= 0 and xs[-1] <= 1
    # each burst gets a real share of the axis instead of a sliver of 2 days
    assert layout.fraction(layout.lanes[0].marks[9].time) - layout.fraction(first.time) > 0.3
    assert f1 < layout.fraction(layout.lanes[0].marks[10].time) and f2 > xs[9]
    assert last is layout.lanes[0].marks[-1]


def test_overlapping_episodes_stack_and_take_the_colour_of_their_outcome() -> None:
    from reformdiag.report.svg_timeline import render_svg
    from reformdiag.report.timeline_layout import build_layout

    doc = _doc([], [("2024-01-01T00:00:00.000Z", "a", "info")],
               [("2024-01-01T00:00:01.000Z", "2024-01-01T00:00:30.000Z", "a", "failed"),
                ("2024-01-01T00:00:10.000Z", "2024-01-01T00:00:50.000Z", "a", "success"),
                ("2024-01-01T00:00:40.000Z", "2024-01-01T00:00:45.000Z", "a", "success")])
    layout = build_layout(doc)
    assert layout is not None
    (lane,) = layout.lanes
    assert lane.rows == 2 and [b.row for b in lane.bars] == [0, 1, 0]
    assert [b.tone for b in lane.bars] == ["failed", "success", "success"]
    svg = render_svg(layout)
    assert svg.count('class="episode reform_round"') == 3 and "#fecaca" in svg
