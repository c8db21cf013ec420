"""CLI helpers: consoles, error boundary, shared options."""

from __future__ import annotations

import os
import select
import signal
import sys
import traceback
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

from reformdiag.errors import DefinitionError, ReformdiagError, UsageError

if TYPE_CHECKING:  # rich is imported when a console is made: JSON and files never need it
    from rich.console import Console

F = TypeVar("F", bound=Callable[..., Any])


def stdout_console(file: Any = None, wrap: bool = True) -> Console:
    """Rich on a terminal; plain text in pipes and files, or with NO_COLOR.

    ``wrap=False`` keeps one record per line in pipes (for grep); paragraphs wrap at 100.
    """
    from rich.console import Console

    target = file or sys.stdout
    is_tty = hasattr(target, "isatty") and target.isatty()
    plain = not is_tty or "NO_COLOR" in os.environ
    width = None if is_tty else 100
    console = Console(file=target, no_color=plain, highlight=False,
                      soft_wrap=not wrap and not is_tty,
                      width=width, force_terminal=False if plain else None,
                      emoji=False)
    console.on_broken_pipe = stdout_closed  # type: ignore[method-assign]
    return console


def stdout_closed() -> NoReturn:
    """The reader of stdout went away (``reformdiag analyze ... | head``). rich and click would
    exit 1, which is the CI gate's "findings" code; end as grep does instead, by SIGPIPE
    (141 in a shell), whatever was found."""
    sigpipe = getattr(signal, "SIGPIPE", None)
    if sigpipe is not None:
        signal.signal(sigpipe, signal.SIG_DFL)
        os.kill(os.getpid(), sigpipe)
    os._exit(128 + 13)  # no SIGPIPE here (Windows): the code a shell would give


def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False, no_color="NO_COLOR" in os.environ)


def error_boundary(func: F) -> F:
    """Turn ReformdiagError into a message and exit code; other exceptions are bugs."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        debug = bool(kwargs.get("debug"))
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except (DefinitionError, UsageError) as exc:
            stderr_console().print(exc.render(), markup=False)
            raise typer.Exit(2) from None
        except ReformdiagError as exc:
            stderr_console().print(exc.render(), markup=False)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        except BrokenPipeError as exc:  # a report written to a pipe whose reader went away
            if _stdout_gone():
                stdout_closed()
            _internal_error(exc, debug)
        except Exception as exc:  # a bug: short message, traceback only with --debug
            _internal_error(exc, debug)

    return wrapper  # type: ignore[return-value]


def _internal_error(exc: Exception, debug: bool) -> NoReturn:
    err = stderr_console()
    if debug:
        err.print(traceback.format_exc(), markup=False)
    err.print(f"internal error: {exc.__class__.__name__}: {exc}\n"
              "This is a bug in reformdiag; re-run with --debug for the traceback.",
              markup=False)
    raise typer.Exit(2) from None


def _stdout_gone() -> bool:
    """Is stdout a pipe whose reader went away? (A broken pipe to a worker is another story.)"""
    if not hasattr(select, "poll"):  # Windows: stdout is the pipe this process writes to
        return True
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError):  # no file descriptor (a test runner's buffer): not a pipe
        return False


def _missing(path: Path) -> bool:
    try:
        return not path.exists()
    except OSError:  # there but not readable: the analysis says why, per path
        return False


def check_paths(paths: list[Path]) -> None:
    missing = [str(p) for p in paths if _missing(p)]
    if missing and len(missing) == len(paths):
        raise UsageError(f"no such file or directory: {', '.join(missing)}",
                         hint="give the folder of the collected bundle, files or .gz files")


def prepare_output(output: Path | None) -> None:
    """Before any work: make the output file's folder (a CI job writes ``-o reports/x.json``
    in a fresh checkout), and refuse a path that cannot be written, naming it, rather than
    failing after the whole bundle was read."""
    if output is None:
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror}") from exc
    if output.is_dir():
        raise UsageError(f"cannot write {output}: it is a folder", hint="give a file name")
    if not os.access(output.parent, os.W_OK):
        raise UsageError(f"cannot write {output}: its folder is not writable")


def open_output(output: Path) -> Any:
    """The output file, open for text; a path that cannot be written is a usage error."""
    try:
        return output.open("w", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror}") from exc


def write_output(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    with open_output(output) as handle:
        handle.write(text)
