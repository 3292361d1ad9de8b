"""Random text to every command (issue 14): whatever is typed, the answer is success or one error line.

Each example is a command of the registry (by name or alias) followed by random words: control
characters, huge tokens, unbalanced quotes, ``;``, ``${``, markup, unicode. It runs through the real
runner with a peer at a closed local port, so a command that associates fails at once. What must
hold: no traceback and no internal error, a failure says ``error:`` once (``warning:`` lines may come
before it; a script's replay adds its own summary), a command that fails leaves the settings and
the identifier as they were, and the session still answers afterwards.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import getsh.commands  # noqa: F401  (registers every command)
from getsh.errors import UsageError
from getsh.exitstatus import ExitStatus
from getsh.registry import REGISTRY, split_statements
from getsh.settings import SETTINGS
from tests.shell_driver import Shell

NAMES = REGISTRY.names()
# commands whose failure may come after part of their work is done (a replay runs lines before one fails)
PARTIAL = {"source", "replay"}

FRAGMENTS = [
    "PatientID=", "StudyDate=2024", "QueryRetrieveLevel=STUDY", "ReferencedStudySequence[0].", "(0010,0020)=",
    "'", '"', ";", "${", "${X}", "${X:-y}", "$${", "\\", "=", "[", "]", "[0]", "*", "?", "-", "--", "--aec",
    "--keep-going", "--dry-run", "--force", "--append", "--any", "stop", "0", "-1", "65536", "1e400", "nan",
    "99999999999999999999", "\x00", "\x07", "\x1b[2J", "\x1b]52;c;aGk=\x07", "\x9b", "é", "\u202e", "日本",
    "\U0001f600", "\r", "\t", "#", "@x", "[/]", "[bold red]x[/]", "[link=file:///etc/passwd]a[/link]", ":warning:",
]
TEXT = st.text(max_size=12)
words = st.one_of(
    st.sampled_from(FRAGMENTS),
    TEXT,
    st.integers(1, 80_000).map(lambda n: "Z" * n),  # past a VR's limit, and past the line's
)
lines = st.tuples(st.sampled_from(NAMES), st.lists(words, max_size=6)).map(
    lambda parts: " ".join([parts[0], *parts[1]]))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def shell(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shell]:
    """One session for every example (as a user's shell lives through everything typed), in a
    directory of its own so that save, record and output write nowhere else."""
    home = tmp_path_factory.mktemp("home")
    work = tmp_path_factory.mktemp("work")
    before = Path.cwd()
    os.chdir(work)
    shell = Shell(home=home)
    status, shown = shell.run(f"set connect-timeout 1; set acse-timeout 2; set dimse-timeout 2; output {work}")
    assert status is ExitStatus.SUCCESS, shown
    shell.run(f"connect 127.0.0.1 {closed_port()}")  # refused: the peer is remembered, nothing listens
    try:
        yield shell
    finally:
        recording = shell.ctx.session.script.recording
        if recording is not None:
            recording.stop()
        shell.close()
        os.chdir(before)


def _statements(line: str) -> list[str]:
    try:
        return split_statements(line)
    except UsageError:  # too long to read: one error
        return [line]


def snapshot(shell: Shell) -> tuple[object, ...]:
    ctx = shell.ctx
    return (*(ctx.settings.show(s.name) for s in SETTINGS), ctx.session.identifier.to_json())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(line=lines)
def test_any_text_to_any_command_is_success_or_one_error_line(shell: Shell, line: str) -> None:
    before = snapshot(shell)
    status, shown = shell.run(line)
    shell.ctx.session.quit_requested = False  # 'quit' only asks the loop to end; the next example goes on
    assert "Traceback" not in shown and "internal error" not in shown, (line, shown)
    command = REGISTRY.find(line.split(" ", 1)[0])
    assert command is not None
    statements = _statements(line)
    if status is not ExitStatus.SUCCESS and status is not ExitStatus.EXPECTATION:  # an expect that did not hold
        errors = [ln for ln in shown.splitlines() if "error: " in ln]
        assert errors, (line, shown)
        if len(statements) > 1:  # cmd; cmd: at most one error each
            assert len(errors) <= len(statements), (line, shown)
        elif command.name not in PARTIAL:
            assert len(errors) == 1, (line, shown)
            assert all(ln.startswith(("error: ", "warning: ")) for ln in shown.splitlines()), (line, shown)
            assert snapshot(shell) == before, line  # a command that fails changes nothing
    for check in ("status", "keys", "settings"):
        assert shell.run(check)[0] is ExitStatus.SUCCESS, (line, check)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200))
def test_any_line_at_all_is_success_or_errors_never_a_traceback(shell: Shell, text: str) -> None:
    """Not even a command name first: the line as it might be pasted, ``;`` and all."""
    status, shown = shell.run(text)
    shell.ctx.session.quit_requested = False
    assert "Traceback" not in shown and "internal error" not in shown, (text, shown)
    if status is not ExitStatus.SUCCESS:
        assert "error: " in shown or "expectation failed" in shown, (text, shown)
    assert shell.run("status")[0] is ExitStatus.SUCCESS


def test_markup_typed_into_a_setting_is_shown_literally() -> None:
    """A value is data wherever it is drawn: the setting's line, the settings table, status."""
    shell = Shell()
    try:
        assert shell.run("aet '[bold]x[/]'") == (ExitStatus.SUCCESS, "aet = [bold]x[/]\n")
        for line in ("aet", "settings", "status"):
            status, shown = shell.run(line)
            assert status is ExitStatus.SUCCESS and "internal error" not in shown, (line, shown)
            if line != "status":  # status shows the AE titles of an association, and there is none
                assert "[bold]x[/]" in shown, (line, shown)
    finally:
        shell.close()
