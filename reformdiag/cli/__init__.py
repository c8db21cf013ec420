"""CLI: typer only. Parse arguments, call the pipeline, choose the renderer, map errors to
exit codes (0 ok, 1 findings at/above --fail-on, 2 usage or definition error, 3 insufficient
evidence)."""

from __future__ import annotations

import gc
import os

# numpy's OpenBLAS starts a thread per core when imported; nothing here does linear algebra
# (numpy is the fallback line pass, without the compiled one, and pandas' base for timeline
# exports). One thread: numpy imports in 0.11-0.12 s instead of 0.13-0.14 s. Set before
# anything imports numpy; a value already set is kept.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# Importing the CLI builds ~100k objects (typer, lark, the pipeline) that live until exit;
# the collector would walk them several times meanwhile: the import takes 12 ms less
# without it (median of 25 starts, 146 -> 134 ms). Frozen, they are left out of every later
# collection too, and forked workers do not copy the pages it would touch.
_collecting = gc.isenabled()
gc.disable()

import typer  # noqa: E402

from reformdiag.cli import analyze, batch, formats, rules, timeline  # noqa: E402

gc.freeze()
if _collecting:
    gc.enable()

app = typer.Typer(
    name="reformdiag",
    help="Diagnose reform, failover and membership failures from a bundle of cluster logs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if not value:
        return
    from reformdiag import __version__
    from reformdiag.ingest import lines, phrases
    from reformdiag.parse.registry import lark_accelerated

    # The three optional accelerators: a slow install should say why it is slow.
    typer.echo(f"reformdiag {__version__}")
    typer.echo("  stage one line pass:     " + ("compiled" if lines.compiled_available()
                                               else "numpy (no compiled module: built without "
                                               "a C compiler?)"))
    typer.echo("  stage one phrase search: " + ("hyperscan" if phrases.hyperscan is not None
                                                else "aho-corasick (hyperscan not installed)"))
    typer.echo("  stage two parser:        " + ("lark-cython" if lark_accelerated()
                                               else "pure-Python lark"))
    raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_print_version,
                                       is_eager=True,
                                       help="Show the version and the accelerators in use.")
          ) -> None:
    pass


app.command("analyze")(analyze.analyze)
app.command("timeline")(timeline.timeline)
app.command("batch")(batch.batch)
app.add_typer(formats.app, name="formats")
app.add_typer(rules.app, name="rules")
app.command("explain")(rules.explain)


def main() -> None:
    try:
        app()
    finally:
        # The process ends here. Python's final collection would walk every object still
        # alive (kept events, grammars, rules) to free what the OS takes back anyway: 0.1 s
        # on the 1 GB benchmark. Frozen objects are left out of it.
        gc.freeze()
