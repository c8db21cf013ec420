"""CLI: ``reformdiag rules list|show ID|check [PATH]`` and ``reformdiag explain RULE``."""

from __future__ import annotations

from pathlib import Path

import typer

from reformdiag.cli.common import error_boundary, stdout_console
from reformdiag.errors import UsageError

app = typer.Typer(help="The diagnosis rules.", no_args_is_help=True)
RulesDirOpt = typer.Option([], "--rules", help="Also load the rules of this folder.")


def _find(rule_ref: str, extra: list[Path]):  # type: ignore[no-untyped-def]
    from reformdiag.diagnose.catalog import rule_set

    rules = rule_set(extra)
    for rule in rules:
        if rule_ref in (rule.id, rule.name) or rule_ref.upper() == rule.id:
            return rule
    # a documented case (OG-C03): the rule made for it (OG003) before a generic one citing it
    case = rule_ref.upper()
    citing = [rule for rule in rules if case in rule.references]
    if citing:
        system, _, number = case.partition("-C")
        own = f"{system}{int(number):03d}" if number.isdigit() else None
        return next((r for r in citing if r.id == own), None) or next(
            (r for r in citing if r.id.startswith(system)), citing[0])
    raise UsageError(f"no rule {rule_ref!r}", hint="see `reformdiag rules list`")


@app.command("list")
@error_boundary
def list_rules(rules_dir: list[Path] = RulesDirOpt) -> None:
    """List every rule: id, level, name, the documented cases it encodes."""
    from rich.table import Table

    from reformdiag.diagnose.catalog import rule_set

    table = Table(title="Rules", title_justify="left")
    for col in ("id", "level", "name", "references", "title"):
        table.add_column(col, overflow="fold")
    for r in rule_set(rules_dir):
        table.add_row(r.id, r.level, r.name, ", ".join(r.references), r.title)
    stdout_console().print(table)


def explain_text(rule) -> str:  # type: ignore[no-untyped-def]
    from reformdiag.diagnose.rules import outline

    lines = [f"{rule.id}  {rule.title}", f"name: {rule.name}    level: {rule.level}    "
             f"references: {', '.join(rule.references)}", "", "What it detects:",
             f"  {rule.description}", "",
             "Why it matters / root cause (as reported; <...> is a value the finding fills in):",
             "  " + " ".join(outline(rule.root_cause).split()), "", "Remediation:"]
    lines += ["  " + line for line in outline(rule.remediation).strip().splitlines()]
    lines += ["", f"Needs: {', '.join(rule.requires_all) or '-'}"
              + (f"; one of {', '.join(rule.requires_any)}" if rule.requires_any else "")
              + (f"; uses if present {', '.join(rule.optional)}" if rule.optional else ""),
              f"Condition: {rule.condition.text}", "False positives:"]
    lines += [f"  - {fp}" for fp in rule.falsepositives]
    lines.append(f"Defined in: {rule.path.name}")
    return "\n".join(lines)


@app.command("show")
@error_boundary
def show_rule(rule_ref: str = typer.Argument(..., help="Rule id, name or case id."),
              rules_dir: list[Path] = RulesDirOpt) -> None:
    """Show one rule: what it detects, why, remediation, documented case."""
    from rich.markup import escape

    stdout_console().print(escape(explain_text(_find(rule_ref, rules_dir))))


@error_boundary
def explain(rule_ref: str = typer.Argument(..., help="Rule id (OG001), name or case (OG-C01)."),
            rules_dir: list[Path] = RulesDirOpt) -> None:
    """Explain a rule: what it detects, why it matters, remediation, documented case."""
    from rich.markup import escape

    stdout_console().print(escape(explain_text(_find(rule_ref, rules_dir))))


@app.command("check")
@error_boundary
def check_rules(
    paths: list[Path] = typer.Argument(None, help="Extra rule folders or files to check."),
    run_cases: bool = typer.Option(True, "--cases/--no-cases",
                                   help="Also run every rule's positive and negative cases."),
    only: list[str] = typer.Option([], "--only", help="Run the cases of these rule ids only."),
) -> None:
    """Validate every rule (and extra ones); run their own test cases."""
    from reformdiag.diagnose.catalog import rule_set
    from reformdiag.rulecheck import run_rule_cases

    folders = [p for p in (paths or []) if p.is_dir()]
    files = [p for p in (paths or []) if p.is_file()]
    rules = rule_set(folders, fresh=True)
    if files:
        from reformdiag.diagnose.catalog import known_kinds, known_sources
        from reformdiag.diagnose.rules import load_rule
        from reformdiag.parse.registry import default_registry

        reg = default_registry()
        rules += [load_rule(f, known_sources(reg), known_kinds(reg)) for f in files]
    console = stdout_console()
    failed = 0
    for rule in rules:
        if not run_cases or (only and rule.id not in only):
            continue
        for res in run_rule_cases(rule):
            if not res.ok:
                failed += 1
                console.print(f"FAIL {res.rule}::{res.case} ({res.polarity}): "
                              + "; ".join(res.problems), markup=False)
    console.print(f"{len(rules)} rules loaded" + (f", {failed} case(s) failed" if run_cases
                                                   else ""), markup=False)
    if failed:
        raise typer.Exit(1)
