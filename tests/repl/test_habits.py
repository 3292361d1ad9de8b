"""Habits people bring from other shells (issue 15): psql's \\? and \\q, clear and Ctrl-L that clear the
screen, reset-keys for the keys, a completion menu of one column with each description beside, and the
node book's names offered after connect. Typed into the real REPL (pipe input), and in a real terminal
(tmux) where what matters is the screen."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from getsh.exitstatus import ExitStatus
from tests.repl.test_pty import Terminal, exit_status, start_terminal
from tests.shell_driver import ShellDriver

pytestmark = pytest.mark.repl


def test_backslash_question_mark_is_help_and_backslash_q_quits() -> None:
    with ShellDriver() as shell:
        shown = shell.line("\\?")
        assert "did you mean" not in shown and "error" not in shown
        assert "reset-keys" in shown and "connect" in shown  # the help index
        shell.type("\\q", "\r")
        assert shell.finish() is ExitStatus.SUCCESS
        assert not shell.alive


def test_clear_leaves_the_keys_and_reset_keys_resets_them() -> None:
    with ShellDriver() as shell:
        shell.line("key PatientID=DEMO001")
        shown = shell.line("clear")
        assert "error" not in shown
        assert shell.ctx.session.identifier.PatientID == "DEMO001"  # clear is the screen's, not the keys'
        shown = shell.line("reset-keys")
        assert "PatientID" not in shell.ctx.session.identifier
        assert "QueryRetrieveLevel  PATIENT" in shown
        assert shell.ctx.session.history[-1] == "reset-keys"  # recorded; clear is not (it only looks)
        assert "clear" not in shell.ctx.session.history


def test_connect_offers_the_node_book() -> None:
    home = Path(os.environ["GETSH_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "config").write_text("[nodes.pacs1]\nhost = pacs.example.org\nport = 104\naec = ARCHIVE\n"
                                 "notes = the hospital archive\n\n[nodes.demo]\nhost = 127.0.0.1\nport = 11112\n")
    with ShellDriver() as shell:
        shell.type("connect ", "\t")
        offered = shell.completions()
        assert offered["pacs1"] == "ARCHIVE@pacs.example.org:104 — the hospital archive"
        assert offered["demo"] == "127.0.0.1:11112"


@pytest.fixture
def plain_terminal(tmp_path: Path) -> Terminal:
    term = start_terminal(tmp_path, "", env="PAGER=cat")  # help fits no screen: printed, not paged
    term.wait_for("getsh>")
    return term


def _prompt_on_top(screen: str) -> bool:
    lines = [line for line in screen.splitlines() if line.strip()]
    return bool(lines) and lines[0].startswith("getsh>")


def test_clear_and_ctrl_l_clear_the_screen(plain_terminal: Terminal) -> None:
    term = plain_terminal
    try:
        term.keys("help", "Enter")
        term.wait_for("reset-keys")
        term.keys("clear", "Enter")
        screen = term.wait_for("getsh>")
        assert "reset-keys" not in screen and _prompt_on_top(screen), screen

        term.keys("help", "Enter")
        term.wait_for("reset-keys")
        term.keys("C-l")
        screen = term.wait_for("getsh>")
        assert "reset-keys" not in screen and _prompt_on_top(screen), screen
        term.keys("C-d")
        assert exit_status(term) == "0"
    finally:
        term.close()


def _line_with(screen: str, word: str) -> str:
    return next((line for line in screen.splitlines() if f" {word} " in line), "")


def test_the_completion_menu_is_one_column_with_descriptions_beside(plain_terminal: Terminal) -> None:
    term = plain_terminal
    try:
        term.keys("set ")
        term.keys("Tab")
        screen = term.wait_for("max-pdu")
        # each setting on its own line, its meaning beside it (not only the selected one's, below)
        assert "my calling AE title" in _line_with(screen, "aet"), screen
        assert "called AE title of the peer" in _line_with(screen, "aec"), screen
        assert not _line_with(screen, "aet").count(" aec "), screen  # one column: aet and aec on different lines
        term.keys("C-u")

        term.keys("set model ")
        term.keys("Tab")
        screen = term.wait_for("psonly")
        assert "study" in _line_with(screen, "study") and len(_line_with(screen, "study").split()) > 2, screen
        term.keys("C-u")

        term.keys("rese")  # a command name: its summary beside it
        screen = term.wait_for("reset-keys")
        assert "model's default identifier" in _line_with(screen, "reset-keys"), screen
        term.keys("C-u", "C-d")
        assert exit_status(term) == "0"
    finally:
        term.close()
