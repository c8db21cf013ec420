"""CLI: options shared by several commands."""

from __future__ import annotations

from pathlib import Path

import typer

from reformdiag.pipeline import Options
from reformdiag.timeline.clock import parse_tz

PathsArg = typer.Argument(..., help="Bundle folders, log files or .gz files.", show_default=False)
TzOpt = typer.Option(None, "--tz", help="Zone of naive pg_log/CM times, e.g. +08:00 "
                     "(default: taken from the DMS/DSS lines of the same host).")
DebugOpt = typer.Option(False, "--debug", help="Show tracebacks of internal errors.")
NoPrefilterOpt = typer.Option(False, "--no-prefilter", help="Parse every record with Lark "
                              "instead of only the records stage one keeps (slow; for checks).")
OutputOpt = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout.")
RedactOpt = typer.Option(False, "--redact", help="Replace IP addresses, host names, user names "
                         "and paths with consistent pseudonyms in everything written.")
JobsOpt = typer.Option(0, "--jobs", "-j", help="Worker processes for reading and parsing "
                       "files (default 0: all cores).")


EngineOpt = typer.Option("local", "--engine", help="local (processes on this machine) or dask "
                        "(dask.distributed: a local cluster, or --scheduler).")
SchedulerOpt = typer.Option(None, "--scheduler", help="Address of an existing Dask scheduler, "
                            "e.g. tcp://10.0.0.5:8786 (workers must see the bundle's files).")
ENGINES = ("local", "dask")


def check_jobs(jobs: int) -> None:
    from reformdiag.errors import UsageError

    if jobs < 0:
        raise UsageError(f"--jobs {jobs}: give a number of processes, or 0 for all cores")


def make_options(tz: str | None, no_prefilter: bool, debug: bool, jobs: int = 1,
                 engine: str = "local", scheduler: str | None = None) -> Options:
    from reformdiag.errors import UsageError
    from reformdiag.parallel import default_jobs

    if engine not in ENGINES:
        raise UsageError(f"unknown --engine {engine!r}", hint="use local or dask")
    if scheduler and engine != "dask":
        raise UsageError("--scheduler needs --engine dask")
    check_jobs(jobs)
    return Options(tz_minutes=parse_tz(tz) if tz else None, prefilter=not no_prefilter,
                   debug=debug, jobs=jobs if jobs > 0 else default_jobs(), engine=engine,
                   scheduler=scheduler)


def as_paths(paths: list[Path]) -> list[Path]:
    return [Path(p) for p in paths]
