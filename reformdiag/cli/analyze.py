"""CLI: ``reformdiag analyze PATH...``."""

from __future__ import annotations

from pathlib import Path

import typer

from reformdiag.cli.common import check_paths, error_boundary, stdout_console, write_output
from reformdiag.cli.options import (
    DebugOpt,
    NoPrefilterOpt,
    OutputOpt,
    PathsArg,
    TzOpt,
    make_options,
)
from reformdiag.errors import UsageError
from reformdiag.pipeline import analyse

FORMATS = ("text", "json")


@error_boundary
def analyze(
    paths: list[Path] = PathsArg,
    fmt: str = typer.Option("text", "--format", "-f", help="Output: text or json."),
    output: Path | None = OutputOpt,
    tz: str | None = TzOpt,
    show_unparsed: bool = typer.Option(False, "--show-unparsed",
                                       help="List every unparsed line with its reason."),
    no_prefilter: bool = NoPrefilterOpt,
    debug: bool = DebugOpt,
) -> None:
    """Analyse a log bundle: inputs, cluster map, notable events, diagnosis."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown --format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    check_paths(paths)
    analysis = analyse(paths, make_options(tz, no_prefilter, debug))
    if fmt == "json":
        from reformdiag.report.json_report import render_json

        write_output(render_json(analysis), output)
    else:
        from reformdiag.report.terminal import render_terminal

        if output is not None:
            with output.open("w", encoding="utf-8") as handle:
                render_terminal(analysis, stdout_console(handle), show_unparsed)
        else:
            render_terminal(analysis, stdout_console(), show_unparsed)
    if not analysis.analysed:
        raise typer.Exit(2)
