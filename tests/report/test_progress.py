"""The progress bar: on a terminal's stderr only, after a moment, never in stdout or JSON."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import subprocess
import sys
import time

import pytest
from rich.console import Console

from reformdiag.cli.progress import FileProgress
from tests.report.conftest import ROUND1


def test_bar_is_drawn_on_a_terminal_after_the_delay() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    with FileProgress(console, delay=0.05) as progress:
        progress("", 0, 2000)
        progress("host-a/pg_log/postgresql.log", 1000, 2000)
        deadline = time.monotonic() + 5
        while not progress.shown and time.monotonic() < deadline:
            time.sleep(0.01)
        progress("host-b/dms.rlog", 2000, 2000)
    assert progress.shown
    assert "reading" in out.getvalue()


def test_quick_runs_and_pipes_get_no_bar() -> None:
    quick = io.StringIO()
    with FileProgress(Console(file=quick, force_terminal=True), delay=30) as progress:
        progress("", 0, 10)
        progress("a.log", 10, 10)
    assert not progress.shown and quick.getvalue() == ""
    piped = io.StringIO()
    with FileProgress(Console(file=piped), delay=0) as progress:  # StringIO is no terminal
        progress("", 0, 10)
        time.sleep(0.05)
    assert not progress.shown and piped.getvalue() == ""


@pytest.mark.scenario
def test_json_on_stdout_stays_clean_while_the_bar_runs_on_stderr() -> None:
    """stdout is a pipe (the JSON goes to a file or jq), stderr is the user's terminal."""
    main, child = pty.openpty()
    # The bar normally waits half a second; start it at once so this run certainly has one.
    code = ("import reformdiag.cli.progress as p; p.DELAY = 0.0; "
            "from reformdiag.cli import main; main()")
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([sys.executable, "-c", code, "analyze", str(ROUND1), "-f", "json"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=child,
                            env=env)
    os.close(child)
    stdout, _ = proc.communicate(timeout=120)
    err = b""
    while select.select([main], [], [], 0.2)[0]:
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        err += chunk
    os.close(main)
    assert proc.returncode == 0
    doc = json.loads(stdout)  # nothing but the JSON document on stdout
    assert doc["findings"] and b"\x1b" not in stdout
    assert b"reading" in err  # the bar went to the terminal
