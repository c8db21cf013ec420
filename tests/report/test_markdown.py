"""The Markdown incident report, rendered the way GitHub/GitLab render it (CommonMark+tables)."""

from __future__ import annotations

from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from reformdiag.report.markdown import block, code, render_markdown, text
from tests.report.conftest import HOSTILE_FILE, HOSTILE_LINE, SAMPLES, document, rules, sample_id


def to_html(source: str) -> str:
    return MarkdownIt("commonmark").enable("table").enable("strikethrough").render(source)


def inline_tokens(source: str) -> list[str]:
    md = MarkdownIt("commonmark").enable("table").enable("strikethrough")
    out = []
    for tok in md.parse(source):
        out.append(tok.type)
        out += [c.type for c in tok.children or []]
    return out


@pytest.mark.scenario
@pytest.mark.parametrize("bundle", SAMPLES, ids=sample_id)
def test_markdown_has_every_section_and_no_markup_from_logs(bundle: Path) -> None:
    doc = document(bundle)
    source = render_markdown(doc, [str(bundle)], rules())
    types = inline_tokens(source)
    # log text never becomes HTML, links, emphasis or strikethrough
    assert "html_inline" not in types and "html_block" not in types
    assert "link_open" not in types and "s_open" not in types
    html = to_html(source)
    headings = [h for h in ("Verdict", "Findings", "Timeline", "Episodes", "Notable events",
                            "Rules", "Inputs and coverage") if f"<h2>{h}" in html]
    assert headings[0] == "Verdict" and "Notable events" in headings
    assert ("Findings" in headings) == bool(doc["findings"])
    # the notable-event table has one row per event (plus the header row)
    events = html[html.index("<h2>Notable events"):]
    events = events[:events.index("</table>")]
    assert events.count("<tr>") == len(doc["notable_events"]) + 1
    for f in doc["findings"]:
        assert f"<h3>{f['severity'].upper()} · {f['rule']} " in html
        assert html.count("<li>") >= len(f["remediation"])
        for ev in f["evidence"]:
            assert f"{ev['file']}:{ev['line']}" in source
    if doc["notable_events"]:
        assert "```text" in source  # the text timeline


@pytest.mark.scenario
def test_hostile_log_line_stays_text(hostile_bundle: Path) -> None:
    from reformdiag.pipeline import run
    from reformdiag.report.json_report import report_dict

    analysis, diagnosis = run([hostile_bundle])
    source = render_markdown(report_dict(analysis, diagnosis), [str(hostile_bundle)], rules())
    types = inline_tokens(source)
    assert "html_inline" not in types and "html_block" not in types and "link_open" not in types
    html = to_html(source)
    assert "<script" not in html and "<img" not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 2  # evidence and table
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert HOSTILE_FILE in source and HOSTILE_LINE.split(" |")[0] in source


@pytest.mark.parametrize("value", [
    "plain", "a `tick` b", "``double``", "`edge", "pipe | in table", "<b>bold</b>",
    "*star* _under_ [link](x) ~~strike~~ &amp;", "# heading", "1. list", "\\ backslash",
])
def test_escaping_keeps_the_exact_text(value: str) -> None:
    md = MarkdownIt("commonmark").enable("table").enable("strikethrough")
    # prose: rendered text equals the input
    rendered = md.parseInline(text(value))[0].children
    assert "".join(c.content for c in rendered if c.type in ("text", "text_special")) == value
    # a code span holds it literally
    (span,) = [c for c in md.parseInline(code(value))[0].children if c.type == "code_inline"]
    assert span.content == value
    # a fenced block too
    (fence,) = [t for t in md.parse(block(value)) if t.type == "fence"]
    assert fence.content.rstrip("\n") == value


def test_table_cells_keep_pipes() -> None:
    source = "| a | b |\n| --- | --- |\n| " + code("x | y", table=True) + " | " + text("p|q") + " |\n"
    html = to_html(source)
    assert "<code>x | y</code>" in html and "<td>p|q</td>" in html
