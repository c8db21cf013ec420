"""CLI: ``reformdiag formats list|check``."""

from __future__ import annotations

import typer

from reformdiag.cli.common import error_boundary, stderr_console, stdout_console
from reformdiag.errors import ReformdiagError
from reformdiag.parse.registry import load_registry

app = typer.Typer(help="Supported log formats.", no_args_is_help=True)


@app.command("list")
@error_boundary
def list_formats() -> None:
    """List every supported format with its system, sources and template count."""
    from rich.table import Table

    registry = load_registry()
    table = Table(title="Supported formats", title_justify="left")
    for col in ("format", "system", "sources", "templates", "title"):
        table.add_column(col, overflow="fold")
    for fmt in registry:
        s = fmt.spec
        table.add_row(s.id, s.system, ", ".join(s.source_names()), str(len(s.templates)), s.title)
    stdout_console().print(table)


@app.command("check")
@error_boundary
def check_formats() -> None:
    """Load every format spec and build every grammar; report all problems."""
    try:
        registry = load_registry(strict=False)
        for fmt in registry:
            _ = fmt.parser
    except ReformdiagError as exc:
        stderr_console().print(exc.render(), markup=False)
        raise typer.Exit(2) from None
    stdout_console().print(f"{len(registry.formats)} formats OK", markup=False)
