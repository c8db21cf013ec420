"""Parse stage: one kept record (its text) -> one Event, or an Unparsed with the reason."""

from __future__ import annotations

from sys import intern

from lark.exceptions import UnexpectedInput

from reformdiag.model import Event, Unparsed
from reformdiag.parse.registry import LoadedFormat
from reformdiag.parse.spec import normalise_message
from reformdiag.parse.timestamps import read_timestamp

_SHARED_MAX = 24

# Kind of a record that parsed but matched no message template: kept only for its level.
GENERIC_KIND = "log"


def explain_failure(exc: UnexpectedInput, text: str, fmt_id: str) -> str:
    """A short reason for an unparsed record, naming the column where the grammar gave up."""
    column = getattr(exc, "column", None)
    first = text.split("\n", 1)[0]
    if len(first) > 512:
        return f"does not match {fmt_id} (line of {len(first)} characters)"
    where = f" at column {column}" if isinstance(column, int) and column > 0 else ""
    return f"does not match the {fmt_id} grammar{where}"


def parse_record(
    fmt: LoadedFormat, text: str, *, file: str, line: int, filename: str,
    host: str | None = None,
) -> Event | Unparsed:
    """Parse one record. Never raises on bad input: returns Unparsed instead."""
    spec = fmt.spec
    try:
        tree = fmt.record_parser.parse(text)
    except UnexpectedInput as exc:
        return Unparsed(file, line, explain_failure(exc, text, spec.id), text.split("\n", 1)[0])
    header = fmt.transformer.transform(tree)
    message = header.message
    if header.continuation:
        message = "\n".join([message, *header.continuation])
    template, fields = fmt.templates.classify(normalise_message(message))
    level = spec.level_of(header.level_word) if header.level_word else "info"
    if template is not None and template.level:
        level = template.level
    local_time, note = (read_timestamp(header.time_text, spec.timestamp_formats)
                        if header.time_text else (None, ""))
    event = Event(
        source=spec.source_for(filename, header.module or None),
        system=spec.system,
        file=file,
        line=line,
        kind=template.kind if template else GENERIC_KIND,
        level=level,
        message=message,
        raw=text,
        local_time=local_time,
        utc_offset_min=header.utc_offset_min,
        module=intern(header.module),
        host=host,
        fields={**header.fields, **fields},
        line_count=1 + len(header.continuation),
    )
    fields_of = event.fields
    for key, value in fields_of.items():
        # Short text values repeat from record to record (thread, database, application,
        # SQLSTATE): one shared string each, which pickling to the parent also keeps shared.
        if value.__class__ is str and len(value) <= _SHARED_MAX:
            fields_of[key] = intern(value)
    if note:
        event.time_note = note
    if template is not None and template.ref:
        event.fields.setdefault("template", template.ref)
    return event
