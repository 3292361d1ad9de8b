"""Tables in a real terminal (tmux) at 80 and 200 columns, each row on one line; long output through
the pager on a terminal only (issue 15, "Tables and long output")."""

from __future__ import annotations

import re
import shlex
import stat
from pathlib import Path

import pytest

from tests.repl.test_pty import Terminal, exit_status, start_terminal

pytestmark = pytest.mark.repl

ROW = re.compile(r"^│ +\d+ │")  # a body line of a table that starts with its row number (#, id)
GET = "get QueryRetrieveLevel=PATIENT PatientID=DEMO003"  # 4 objects: 1 OT (secondary capture), 3 MR


def table_lines(screen: str, title: str) -> list[str]:
    """The body lines of the table drawn after the last ``title`` on the screen."""
    lines = screen.splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith(title))
    body = []
    for line in lines[start:]:
        if line.startswith("└"):
            break
        if line.startswith("│"):
            body.append(line)
    return body


def header(screen: str, title: str) -> str:
    lines = screen.splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith(title))
    return next(line for line in lines[start:] if line.startswith("┃"))


def assert_one_line_each(rows: list[str], width: int, count: int) -> None:
    assert len(rows) == count, rows
    for row in rows:
        assert ROW.match(row), f"a wrapped row (no number in its first cell): {row!r}"
        assert len(row) <= width


def pager_script(tmp_path: Path) -> tuple[Path, Path]:
    """A PAGER that records each call and what it was given, and shows nothing."""
    calls, script = tmp_path / "pager-calls", tmp_path / "pager.sh"
    script.write_text(f"#!/bin/sh\necho called >> {shlex.quote(str(calls))}\n"
                      f"cat >> {shlex.quote(str(tmp_path / 'paged.txt'))}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, calls


def calls(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


@pytest.fixture(params=[80, 200], ids=["80-columns", "200-columns"])
def wide(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Terminal, int]:
    width: int = request.param
    term = start_terminal(tmp_path, "--demo", width=width, height=50)
    request.addfinalizer(term.close)
    term.wait_for("getsh>")
    term.wait_for("[open")
    return term, width


def test_received_tables_keep_each_row_on_one_line(wide: tuple[Terminal, int], tmp_path: Path) -> None:
    """A normal get and one whose files are renamed: one line per object, the columns that matter most
    (what happened, the file relative to the output directory, its size) at 80, all but one at 200."""
    term, width = wide
    (tmp_path / "out").mkdir()
    term.keys("set pager off", "Enter", f"set output {tmp_path / 'out'}", "Enter")
    term.wait_for("output = ")
    term.keys(GET, "Enter")
    screen = term.wait_for("received 4 objects")
    rows = table_lines(screen, "received: keys")
    assert_one_line_each(rows, width, 4)
    assert all("written" in row and "KB" in row for row in rows)
    assert sum("MR.1.2.826." in row for row in rows) == 3  # file names relative to the output directory
    assert str(tmp_path) not in "".join(rows)
    for column in ("#", "mod", "size", "file", "status"):
        assert f" {column} " in header(screen, "received: keys")

    term.keys("C-l", GET, "Enter")  # the same objects again: each is renamed, the status stays short
    screen = term.wait_for("received 4 objects")
    rows = table_lines(screen, "received: keys")
    assert_one_line_each(rows, width, 4)
    assert all("renamed (_1)" in row for row in rows), rows
    assert "exists)" not in screen  # "renamed to CT.1.2.826…_1 (CT.1.2.826… exists)" is for show N
    top = header(screen, "received: keys")
    if width >= 200:
        for column in ("patient", "SOP class", "SOP Instance UID", "transfer syntax"):
            assert column in top
        assert any("MR Image" in row and "Explicit VR Little" in row for row in rows)
    else:
        assert "not shown at this width: " in screen and "received --raw" in screen

    term.keys("C-l", "show 5", "Enter")  # the full story is one command away
    term.wait_for("PixelData")
    story = term.screen(history=True).split("object 5:")[-1]
    assert "stored: renamed to" in story and "exists)" in story


def test_status_keeps_each_context_on_one_line(wide: tuple[Terminal, int]) -> None:
    term, width = wide
    term.keys("set pager off", "Enter", "C-l", "status", "Enter")
    term.wait_for("└")  # the table's last line
    screen = term.screen(history=True)
    rows = table_lines(screen, "presentation contexts: 123/128 proposed")
    assert_one_line_each(rows, width, 123)
    top = header(screen, "presentation contexts: 123/128 proposed")
    for column in ("id", "abstract syntax", "result"):
        assert column in top
    if width >= 200:
        assert "transfer syntax" in top and "our role" in top
        assert any("Patient Root Query/Retrieve Information Model - GET" in row for row in rows)  # whole

    term.keys("C-l", "status --rejected", "Enter")  # only what the peer refused
    term.wait_for("presentation contexts rejected: 14 of 123 proposed")
    rows = table_lines(term.wait_for("└"), "presentation contexts rejected")
    assert_one_line_each(rows, width, 14)
    assert all("not supported" in row for row in rows)


def test_long_output_goes_through_the_pager_on_a_terminal_only(tmp_path: Path) -> None:
    script, called = pager_script(tmp_path)
    term = start_terminal(tmp_path, "--demo", width=80, height=30, env=f"PAGER={shlex.quote(str(script))}")
    try:
        term.wait_for("[open")
        term.keys("status", "Enter")  # 123 contexts: more than the screen holds
        _wait_calls(called, 1)
        assert "presentation contexts: 123/128" not in term.screen()  # it went to the pager
        assert "presentation contexts: 123/128 proposed" in (tmp_path / "paged.txt").read_text()

        term.keys("dict PatientName", "Enter")  # fits: shown as usual
        term.wait_for("Patient's Name")
        assert calls(called) == 1

        term.keys("set pager on", "Enter", "dict PatientID", "Enter")  # on: always
        term.wait_for("pager = on")
        _wait_calls(called, 2)

        term.keys("set pager off", "Enter", "C-l", "status", "Enter")  # off: never
        term.wait_for("not shown at this width")
        assert calls(called) == 2

        replay = tmp_path / "long.getsh"
        replay.write_text("set pager on\nstatus\n")
        term.keys("C-l", f"source {replay}", "Enter")  # a replay in the shell: never
        term.wait_for("commands run")
        assert calls(called) == 2
        term.keys("C-d")
        assert exit_status(term) == "0"
    finally:
        term.close()

    # -c on a terminal: never, whatever the setting
    (tmp_path / "exit-status").unlink()
    term = start_terminal(tmp_path, "--demo -c 'set pager on' -c status -c help", width=80, height=30,
                          env=f"PAGER={shlex.quote(str(script))}")
    try:
        assert exit_status(term, timeout=30) == "0"
        assert calls(called) == 2
        assert "help COMMAND shows its usage" in term.screen()
    finally:
        term.close()


def _wait_calls(path: Path, count: int, timeout: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while calls(path) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    assert calls(path) == count
