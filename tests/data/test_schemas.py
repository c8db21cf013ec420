"""Data files match their JSON Schemas; every sample's JSON report matches the report schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = {p.name: json.loads(p.read_text()) for p in (ROOT / "schemas").glob("*.json")}
REGISTRY = Registry().with_resources(
    [(s["$id"], Resource.from_contents(s)) for s in SCHEMAS.values()])


def _validate(doc: object, schema: str) -> None:
    jsonschema.Draft202012Validator(SCHEMAS[schema], registry=REGISTRY).validate(doc)


@pytest.mark.data
@pytest.mark.parametrize("path", sorted((ROOT / "grammars").glob("*.yaml")), ids=lambda p: p.stem)
def test_format_spec_schema(path: Path) -> None:
    _validate(yaml.safe_load(path.read_text()), "format.schema.json")


@pytest.mark.data
@pytest.mark.parametrize("path", sorted((ROOT / "grammars" / "templates").glob("*.yaml")),
                         ids=lambda p: p.stem)
def test_template_set_schema(path: Path) -> None:
    _validate(yaml.safe_load(path.read_text()), "template_set.schema.json")


@pytest.mark.data
@pytest.mark.parametrize("path", sorted((ROOT / "rules").rglob("*.yaml")), ids=lambda p: p.stem)
def test_rule_schema(path: Path) -> None:
    _validate(yaml.safe_load(path.read_text()), "rule.schema.json")


@pytest.mark.scenario
@pytest.mark.parametrize("bundle", sorted(p for p in (ROOT / "samples").iterdir() if p.is_dir()),
                         ids=lambda p: p.name)
def test_report_schema(bundle: Path) -> None:
    from typer.testing import CliRunner

    from reformdiag.cli import app

    result = CliRunner().invoke(app, ["analyze", str(bundle / "bundle"), "-f", "json"])
    _validate(json.loads(result.stdout), "report.schema.json")
