"""Parse stage helper: load YAML data files keeping line numbers for error messages."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from reformdiag.errors import DefinitionError, ErrorLocation


@lru_cache(maxsize=1)
def _loader() -> Any:
    """Safe loader that records the line of every mapping key in ``__lines__``.

    Built when a file is first read: a run that takes its definitions from the cache
    (``parse/defcache.py``) never imports yaml (~15 ms).
    """
    import yaml

    # The C loader (libyaml) is ~10x faster and still gives every node its position; rules
    # and specs are loaded at every start, so it matters.
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class LineLoader(base):  # type: ignore[misc,valid-type]
        pass

    def construct_mapping(loader: LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
        mapping = loader.construct_mapping(node, deep=True)
        lines = {}
        for key_node, _ in node.value:
            key = loader.construct_object(key_node)
            if isinstance(key, str):
                lines[key] = key_node.start_mark.line + 1
        mapping["__line__"] = node.start_mark.line + 1
        mapping["__lines__"] = lines
        return mapping

    LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return LineLoader


def load_yaml(path: Path) -> Any:
    """Load ``path``; every mapping carries ``__line__`` and ``__lines__`` (key -> line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DefinitionError(f"cannot read {path.name}: {exc}", ErrorLocation(str(path))) from exc
    import yaml

    try:
        return yaml.load(text, Loader=_loader())  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        loc = ErrorLocation(str(path), mark.line + 1, mark.column + 1) if mark else ErrorLocation(
            str(path)
        )
        raise DefinitionError(
            f"invalid YAML: {getattr(exc, 'problem', exc)}", loc, "check indentation and quoting"
        ) from exc


def strip_lines(value: Any) -> Any:
    """Return ``value`` without the ``__line__`` bookkeeping keys (for output and tests)."""
    if isinstance(value, dict):
        return {k: strip_lines(v) for k, v in value.items() if k not in ("__line__", "__lines__")}
    if isinstance(value, list):
        return [strip_lines(v) for v in value]
    return value


def line_of(mapping: Any, key: str | None = None) -> int | None:
    """Line of ``key`` inside ``mapping`` (or of the mapping itself)."""
    if not isinstance(mapping, dict):
        return None
    if key is not None and key in mapping.get("__lines__", {}):
        return int(mapping["__lines__"][key])
    line = mapping.get("__line__")
    return int(line) if line is not None else None


def definition_error(path: Path, data: Any, key: str | None, message: str,
                     hint: str) -> DefinitionError:
    """A DefinitionError pointing at ``key`` of ``data`` (or at ``data``) in ``path``."""
    return DefinitionError(message, ErrorLocation(str(path), line_of(data, key)), hint)


def load_mapping(path: Path, required: tuple[str, ...], what: str, hint: str) -> dict[str, Any]:
    """Load a YAML file that must be a mapping holding the ``required`` keys."""
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise DefinitionError(f"a {what} must be a mapping", ErrorLocation(str(path), 1), hint)
    missing = [key for key in required if key not in data]
    if missing:  # all of them at once: whoever writes a new file fixes them in one go
        keys = ", ".join(repr(key) for key in missing)
        raise definition_error(path, data, None, f"missing required key{'s' * (len(missing) > 1)} "
                               f"{keys}", hint)
    return data
