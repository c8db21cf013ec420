"""CLI: ``reformdiag batch DIR_OR_GLOB...``: many bundles, one summary."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from reformdiag.cli.common import error_boundary, prepare_output, stdout_console, write_output
from reformdiag.cli.options import EngineOpt, JobsOpt, SchedulerOpt, check_jobs
from reformdiag.errors import UsageError


@error_boundary
def batch(
    targets: list[str] = typer.Argument(..., help="Bundles (folders, archives, files), or a "
                                        "quoted glob such as '/collected/*' for one bundle "
                                        "per match."),
    output: Path | None = typer.Option(None, "--output", "-o",
                                       help="summary.json, summary.csv or summary.html "
                                            "(by suffix; default: a table on stdout)."),
    engine: str = EngineOpt,
    scheduler: str | None = SchedulerOpt,
    jobs: int = JobsOpt,
    rules_dir: list[str] = typer.Option([], "--rules", help="Also load rules from this folder."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of failed bundles."),
) -> None:
    """Analyse many bundles; summarise which hit which rules and documented cases."""
    from reformdiag.batch import expand, render_csv, render_html, run_batch, summarise
    from reformdiag.parallel import default_jobs

    if engine not in ("local", "dask"):
        raise UsageError(f"unknown --engine {engine!r}", hint="use local or dask")
    check_jobs(jobs)
    prepare_output(output)
    bundles = expand(targets)
    if not bundles:
        raise UsageError("no bundle matches", hint="give folders, archives or a quoted glob")
    results = run_batch(bundles, engine, jobs if jobs > 0 else default_jobs(), scheduler,
                        rule_dirs if (rule_dirs := rules_dir) else None)
    summary = summarise(results)
    if output is not None:
        suffix = output.suffix.lower()
        text = (json.dumps(summary, indent=2) if suffix == ".json" else
                render_csv(summary) if suffix == ".csv" else
                render_html(summary) if suffix in (".html", ".htm") else None)
        if text is None:
            raise UsageError(f"unknown summary format {suffix!r}", hint="use .json, .csv or .html")
        write_output(text, output)
    console = stdout_console(wrap=False)
    for r in results:
        found = ", ".join(f"{f['rule']}({f['severity']})" for f in r["findings"]
                          if not f.get("symptom_of")) or "-"
        state = "ok    " if r["ok"] else "FAILED"
        console.print(f"{state} {r['bundle']}: {found if r['ok'] else r['error']}", markup=False)
        if debug and r.get("traceback"):
            console.print(r["traceback"], markup=False)
    console.print(f"{summary['bundles']} bundle(s), {summary['with_findings']} with findings, "
                  f"{len(summary['failed'])} failed; cases: "
                  + (", ".join(f"{k} x{v}" for k, v in summary["cases"].items()) or "none"),
                  markup=False)
