"""CLI: typer only. Parse arguments, call the pipeline, choose the renderer, map errors to
exit codes (0 ok, 1 findings at/above --fail-on, 2 usage or definition error, 3 insufficient
evidence)."""

from __future__ import annotations

import typer

from reformdiag.cli import analyze, batch, formats, rules, timeline

app = typer.Typer(
    name="reformdiag",
    help="Diagnose reform, failover and membership failures from a bundle of cluster logs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,
)
app.command("analyze")(analyze.analyze)
app.command("timeline")(timeline.timeline)
app.command("batch")(batch.batch)
app.add_typer(formats.app, name="formats")
app.add_typer(rules.app, name="rules")
app.command("explain")(rules.explain)


def main() -> None:
    app()
