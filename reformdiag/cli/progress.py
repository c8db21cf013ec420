"""CLI: a progress bar on stderr while a bundle's files are read.

Only on an interactive terminal, and only when reading takes more than a moment (the bar
appears after ``delay`` seconds, from a timer, so one big file shows it too); it is
transient, so it leaves nothing behind, and it never writes to stdout, where a report or
JSON may be going.
"""

from __future__ import annotations

import os
import sys
import threading
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

DELAY = 0.5  # seconds of reading before a bar is worth drawing


class FileProgress:
    """``pipeline.Progress`` callback that draws a bar of bytes read, file by file."""

    def __init__(self, console: Console | None = None, delay: float | None = None) -> None:
        self.console = console
        if console is None and _terminal_possible():
            from rich.console import Console

            self.console = Console(stderr=True, highlight=False)
        self.enabled = (self.console is not None and self.console.is_terminal
                        and not self.console.is_dumb_terminal)
        self.delay = DELAY if delay is None else delay
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._state = ("", 0, 0)
        self._closed = False
        self.shown = False  # for tests: whether the bar was drawn

    def __call__(self, name: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._state = (name, done, total)
            if self._bar is None and self._timer is None and not self._closed:
                self._timer = threading.Timer(self.delay, self._show)
                self._timer.daemon = True
                self._timer.start()
            if self._bar is not None and self._task is not None:
                self._bar.update(self._task, completed=done, total=total or None,
                                 file=_short(name) if done < total else "diagnosing")

    def _show(self) -> None:
        with self._lock:
            if self._closed or self._bar is not None:
                return
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            name, done, total = self._state
            self._bar = Progress(TextColumn("[bold]reading"), BarColumn(), DownloadColumn(),
                                 TimeElapsedColumn(), TextColumn("{task.fields[file]}"),
                                 console=self.console, transient=True)
            self._task = self._bar.add_task("reading", total=total or None, completed=done,
                                            file=_short(name) if done < total else "diagnosing")
            self._bar.start()
            self.shown = True

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
            if self._bar is not None:
                self._bar.stop()

    def __enter__(self) -> FileProgress:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _terminal_possible() -> bool:
    """False when rich would surely find no terminal on stderr (a pipe or a file, and none
    of the variables that make rich assume one), so a run into a pipe never imports rich."""
    if "TTY_COMPATIBLE" in os.environ or "FORCE_COLOR" in os.environ:
        return True
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _short(path: str, width: int = 40) -> str:
    return path if len(path) <= width else "\u2026" + path[-(width - 1):]
