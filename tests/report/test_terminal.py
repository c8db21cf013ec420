"""The terminal view: readable at 80 columns, plain text in pipes and with NO_COLOR."""

from __future__ import annotations

import io
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from tests.report.conftest import ROUND1, SAMPLES, sample_id

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
COLOUR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-7]|9[0-7]|38;[25])[;m]")


@pytest.mark.scenario
@pytest.mark.parametrize("bundle", SAMPLES, ids=sample_id)
def test_every_sample_fits_80_columns(bundle: Path) -> None:
    from reformdiag.pipeline import run
    from reformdiag.report.terminal import render_terminal

    analysis, diagnosis = run([bundle])
    out = io.StringIO()
    render_terminal(analysis, Console(file=out, width=80, no_color=True, highlight=False),
                    diagnosis)
    lines = out.getvalue().splitlines()
    assert [ln for ln in lines if len(ln) > 80] == []
    # prose, evidence and episodes wrap without padding lines with blanks (a pipe or a
    # file keeps them); the coverage table below pads its cells, as tables do
    assert lines.index("VERDICT") < lines.index("INPUTS AND COVERAGE")
    prose = lines[:lines.index("INPUTS AND COVERAGE")]
    assert [ln for ln in prose if ln.endswith(" ")] == []


def _run_in_pty(args: list[str], env: dict[str, str]) -> str:
    """Run the CLI with stdout and stderr on a pseudo-terminal, as a person would."""
    main, child = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "reformdiag", *args], stdin=subprocess.DEVNULL,
                            stdout=child, stderr=child, env=env, close_fds=True)
    os.close(child)
    chunks = []
    while True:
        ready, _, _ = select.select([main], [], [], 60)
        if not ready:
            proc.kill()
            break
        try:
            data = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(main)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.scenario
def test_a_terminal_of_80_columns_gets_colour_and_no_line_wider() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env.update(COLUMNS="80", LINES="40", TERM="xterm-256color")
    raw = _run_in_pty(["analyze", str(ROUND1)], env)
    assert COLOUR.search(raw), "a terminal should get colour"
    body = raw[raw.index("reformdiag:"):]  # after any progress bar on stderr
    lines = [ANSI.sub("", ln) for ln in body.replace("\r", "").split("\n")]
    assert "VERDICT" in lines and [ln for ln in lines if len(ln) > 80] == []


@pytest.mark.scenario
def test_no_color_and_pipes_get_plain_text() -> None:
    env = {**os.environ, "COLUMNS": "80", "TERM": "xterm-256color", "NO_COLOR": "1"}
    raw = _run_in_pty(["analyze", str(ROUND1)], env)
    assert "VERDICT" in raw and not COLOUR.search(raw)
    piped = subprocess.run([sys.executable, "-m", "reformdiag", "analyze", str(ROUND1)],
                           capture_output=True, text=True, timeout=120,
                           env={k: v for k, v in os.environ.items() if k != "NO_COLOR"})
    assert piped.returncode == 0, piped.stderr
    assert "VERDICT" in piped.stdout and "\x1b" not in piped.stdout
    assert "\x1b" not in piped.stderr  # no progress bar when stderr is not a terminal
