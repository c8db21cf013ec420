"""The exception tree. Imports nothing from reformdiag.

- DefinitionError: a grammar, format spec or rule file is wrong (our bug): fail fast, exit 2.
- InputError: a log file or archive cannot be read: report it under "not analysed", go on.
- UsageError: bad command-line arguments: exit 2.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ErrorLocation:
    """Where a problem is: a file and, when known, a line and column (1-based)."""

    path: str
    line: int | None = None
    col: int | None = None

    def __str__(self) -> str:
        parts = [self.path]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)


class ReformdiagError(Exception):
    """Base of every error reformdiag reports on purpose."""

    def __init__(
        self, message: str, location: ErrorLocation | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint

    def render(self) -> str:
        """Render as `error: what / --> where / = help: fix` (lnav / rustc style)."""
        out = [f"error: {self.message}"]
        if self.location is not None:
            out.append(f" --> {self.location}")
        if self.hint:
            out.append(f" = help: {self.hint}")
        return "\n".join(out)


class DefinitionError(ReformdiagError):
    """A grammar, format spec or rule definition is invalid."""


class InputError(ReformdiagError):
    """A log file or archive cannot be read or recognised."""


class UsageError(ReformdiagError):
    """The command line asks for something impossible."""
