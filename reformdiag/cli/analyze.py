"""CLI: ``reformdiag analyze PATH...``: diagnose a bundle; the exit code is the CI gate."""

from __future__ import annotations

from pathlib import Path

import typer

from reformdiag.cli.common import check_paths, error_boundary, prepare_output, stdout_console, write_output
from reformdiag.cli.options import (
    DebugOpt,
    EngineOpt,
    JobsOpt,
    NoPrefilterOpt,
    OutputOpt,
    PathsArg,
    RedactOpt,
    SchedulerOpt,
    TzOpt,
    make_options,
)
from reformdiag.errors import UsageError
from reformdiag.model import SEVERITIES, SEVERITY_RANK

FORMATS = ("text", "json", "markdown", "html", "junit", "sarif")
# Exit codes: 0 nothing at/above --fail-on, 1 findings at/above it, 2 usage or definition
# error (or nothing analysable), 3 insufficient evidence (with --fail-on-missing).
EXIT_FINDINGS, EXIT_USAGE, EXIT_MISSING = 1, 2, 3


@error_boundary
def analyze(
    paths: list[Path] = PathsArg,
    fmt: str = typer.Option("text", "--format", "-f",
                            help="Output: " + ", ".join(FORMATS) + " (text is the terminal view; "
                                 "markdown and html are a forwardable incident report; junit "
                                 "and sarif are for CI)."),
    output: Path | None = OutputOpt,
    fail_on: str = typer.Option("never", "--fail-on",
                                help="Exit 1 when a finding is at or above this severity: "
                                     + "|".join([*SEVERITIES, "never"])),
    fail_on_missing: bool = typer.Option(False, "--fail-on-missing",
                                         help="Exit 3 when a rule cannot be evaluated because "
                                              "a source it requires is missing."),
    rules_dir: list[Path] = typer.Option([], "--rules", help="Also load rules from this folder."),
    tz: str | None = TzOpt,
    show_unparsed: bool = typer.Option(False, "--show-unparsed",
                                       help="List every unparsed line with its reason."),
    no_prefilter: bool = NoPrefilterOpt,
    jobs: int = JobsOpt,
    engine: str = EngineOpt,
    scheduler: str | None = SchedulerOpt,
    debug: bool = DebugOpt,
    redact: bool = RedactOpt,
) -> None:
    """Diagnose a log bundle: verdict, findings, episodes, inputs and coverage."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown --format {fmt!r}", hint=f"use one of {', '.join(FORMATS)}")
    if fail_on not in (*SEVERITIES, "never"):
        raise UsageError(f"unknown --fail-on {fail_on!r}",
                         hint=f"use one of {', '.join([*SEVERITIES, 'never'])}")
    check_paths(paths)
    prepare_output(output)
    from reformdiag.cli.progress import FileProgress
    from reformdiag.pipeline import run

    with FileProgress() as progress:
        analysis, diagnosis = run(paths, make_options(tz, no_prefilter, debug, jobs, engine,
                                                      scheduler), rules_dir, progress=progress)
    if redact:  # one pass before any renderer: every output format is covered
        from reformdiag.redact import redact as redact_run

        redactor = redact_run(analysis, diagnosis)
        paths = [Path(redactor.argument(str(p))) for p in paths]
    if fmt != "text":
        from reformdiag.diagnose.catalog import rule_set
        from reformdiag.report.render import render_document

        write_output(render_document(fmt, analysis, diagnosis, [str(p) for p in paths],
                                     rule_set(rules_dir)), output)
    else:
        from reformdiag.report.terminal import render_terminal

        if output is not None:
            with output.open("w", encoding="utf-8") as handle:
                render_terminal(analysis, stdout_console(handle), diagnosis, show_unparsed)
        else:
            render_terminal(analysis, stdout_console(), diagnosis, show_unparsed)
    raise typer.Exit(exit_code(analysis, diagnosis, fail_on, fail_on_missing))


def exit_code(analysis, diagnosis, fail_on: str, fail_on_missing: bool) -> int:  # type: ignore[no-untyped-def]
    if not analysis.analysed:
        return EXIT_USAGE
    if fail_on != "never":
        threshold = SEVERITY_RANK[fail_on]
        if any(SEVERITY_RANK[f.severity] >= threshold for f in diagnosis.all_findings()):
            return EXIT_FINDINGS
    if fail_on_missing and any(o.status == "not evaluable" for o in diagnosis.outcomes):
        return EXIT_MISSING
    return 0
