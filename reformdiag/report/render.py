"""Report stage: one entry point for the document formats (everything but the terminal view).

Every document is rendered from the JSON report (``json_report.report_dict``), so the
formats cannot disagree about what was found.
"""

from __future__ import annotations

from typing import Any

from reformdiag.pipeline import Analysis

DOCUMENT_FORMATS = ("json", "markdown", "html", "junit", "sarif")


def render_document(fmt: str, analysis: Analysis, diagnosis: Any = None,
                    sources: list[str] | None = None, rules: list[Any] | None = None) -> str:
    """``fmt`` (one of DOCUMENT_FORMATS) as text; ``sources`` are the paths as given."""
    from reformdiag.report.json_report import render_json, report_dict

    if fmt == "json":
        return render_json(analysis, diagnosis)
    doc = report_dict(analysis, diagnosis)
    if fmt == "markdown":
        from reformdiag.report.markdown import render_markdown

        return render_markdown(doc, sources, rules)
    if fmt == "html":
        from reformdiag.report.html import render_html

        return render_html(doc, sources, rules)
    if fmt == "junit":
        from reformdiag.report.junit import render_junit

        return render_junit(doc, sources)
    if fmt == "sarif":
        from reformdiag.report.sarif import render_sarif

        return render_sarif(doc, rules or [], sources)
    raise ValueError(f"unknown document format {fmt!r}")
