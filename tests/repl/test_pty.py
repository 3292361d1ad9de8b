"""The installed program in a real terminal (tmux), read back as a person sees the screen."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import peer_missing

pytestmark = pytest.mark.repl


class Terminal:
    """A tmux session on a private server: send keys, read the screen."""

    def __init__(self, command: str, socket_name: str, width: int = 160, height: int = 45) -> None:
        # one server per test and per run: a name shared with another run's test (the same tmp_path name)
        # would find that run's session "t" and fail ("duplicate session")
        self.base = ["tmux", "-L", f"{socket_name}-{os.getpid()}"]
        start = [*self.base, "new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height), command]
        done = subprocess.run(start, capture_output=True, text=True)
        if done.returncode != 0:  # a stale server of that name: ended, and once more
            self.close()
            done = subprocess.run(start, capture_output=True, text=True)
        assert done.returncode == 0, f"tmux new-session failed ({done.returncode}): {done.stderr.strip()}"

    def keys(self, *keys: str, pause: float = 0.3) -> None:
        """Each key (or literal text) in turn, with a person's pause after it."""
        for key in keys:
            subprocess.run([*self.base, "send-keys", "-t", "t", key], check=True)
            time.sleep(pause)

    def screen(self, history: bool = False, joined: bool = False) -> str:
        """What the terminal shows; ``history``: with what scrolled out of sight above it; ``joined``: the
        lines the terminal wrapped at its width joined again (a phrase may otherwise be cut mid-word)."""
        since = ["-S", "-"] if history else []
        join = ["-J"] if joined else []
        result = subprocess.run([*self.base, "capture-pane", "-p", *join, "-t", "t", *since], capture_output=True,
                                text=True)
        return result.stdout

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared; the screen shows:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run([*self.base, "kill-server"], capture_output=True)


def start_terminal(tmp_path: Path, args: str, width: int = 160, height: int = 45, env: str = "") -> Terminal:
    """getsh ARGS in a ``width`` × ``height`` terminal, in tmp_path; ``env``: assignments put before it."""
    if shutil.which("tmux") is None:
        peer_missing("tmux is not installed (scripts/test installs it)")
    status = tmp_path / "exit-status"
    command = (
        f"cd {shlex.quote(str(tmp_path))} && unset COLUMNS LINES PAGER && "
        f"{env} GETSH_HOME={shlex.quote(str(tmp_path / 'home'))} "
        f"{shlex.quote(sys.executable)} -m getsh {args}; echo $? > {shlex.quote(str(status))}; sleep 60"
    )
    term = Terminal(command, f"getsh-test-{tmp_path.name}", width, height)
    term.status_file = status  # type: ignore[attr-defined]
    return term


def exit_status(term: Terminal, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    status_file: Path = term.status_file  # type: ignore[attr-defined]
    while not status_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return status_file.read_text().strip()


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    term = start_terminal(tmp_path, "--demo")
    try:
        yield term
    finally:
        term.close()


def test_demo_shell_as_seen_in_a_terminal(terminal: Terminal, tmp_path: Path) -> None:
    screen = terminal.wait_for("getsh>")
    assert "demo archive GETSH-DEMO on 127.0.0.1:" in screen
    assert "associated with GETSH-DEMO @ 127.0.0.1:" in screen
    screen = terminal.wait_for("[open")  # the bottom toolbar shows the live association
    assert "GETSCU  model patient" in screen

    terminal.keys("ech", "Tab", "Enter")
    terminal.wait_for("C-ECHO Success")

    terminal.keys("get QueryRetrieveLevel=PATIENT PatientID=DEMO003", "Enter")
    screen = terminal.wait_for("C-GET Success")  # the table and summary as a person sees them
    assert "MR Image" in screen and "sub-operations: 4 completed, 0 failed, 0 warning" in screen

    terminal.keys("key Pati")
    screen = terminal.wait_for("PatientID")  # keywords pop up as you type …
    terminal.keys("Tab")
    terminal.wait_for("(0010,0020)")  # … and the selected one shows its tag, VR and name
    terminal.keys("C-u")

    terminal.keys("set prefer r")
    screen = terminal.wait_for("rle")  # completions pop up while typing
    terminal.keys("l", "Tab")
    terminal.wait_for("RLE Lossless")  # the selected value shows its meaning
    terminal.keys("Enter")
    terminal.wait_for("prefer = rle")
    terminal.wait_for("[stale")

    terminal.keys("C-r", "ech")
    terminal.wait_for("reverse-i-search")
    terminal.keys("Enter")  # ends the search with the line found…
    terminal.wait_for("getsh> echo")
    terminal.keys("Enter")  # …which then runs
    terminal.wait_for("settings changed (prefer rle): re-associating")

    terminal.keys("C-d")
    assert exit_status(terminal) == "0"
    assert "released the association" in terminal.screen()
    history = (tmp_path / "home" / "history").read_text()
    assert "echo" in history and "set prefer rle" in history


def test_a_plain_shell_prompts_first_and_loads_behind_the_prompt(tmp_path: Path) -> None:
    """No peer on the command line: the prompt comes before pydicom and pynetdicom; what is typed
    at once waits for them and then runs, in order; completion works as soon as they are in."""
    term = start_terminal(tmp_path, "")
    try:
        term.wait_for("getsh>", timeout=10)
        term.keys("set model study", "Enter", "keys", "Enter", pause=0.02)  # typed before the load is done
        screen = term.wait_for("identifier (study model)")
        assert screen.index("model = study") < screen.index("identifier (study model)")
        term.wait_for("no peer (connect HOST PORT)")  # the toolbar, once the session is loaded
        term.keys("set prefer r")
        term.wait_for("rle")
        term.keys("C-u", "C-d")
        assert exit_status(term) == "0"
    finally:
        term.close()


def test_the_demo_keeps_what_it_retrieves_in_a_directory_of_its_own(tmp_path: Path) -> None:
    """getsh --demo started in a git clone wrote its objects there, repeated gets adding _1 copies. Its
    output is now a directory of its own under getsh's data directory, named at start-up and in the
    toolbar; an output the user chose (-od, a config file, typed) is kept."""
    if shutil.which("tmux") is None:
        peer_missing("tmux is not installed (scripts/test installs it)")
    clone = tmp_path / "clone"
    clone.mkdir()
    home = tmp_path / "home"
    command = (f"cd {shlex.quote(str(clone))} && unset COLUMNS LINES && HOME={shlex.quote(str(tmp_path))} "
               f"GETSH_HOME={shlex.quote(str(home))} {shlex.quote(sys.executable)} -m getsh --demo; sleep 60")
    term = Terminal(command, f"getsh-test-{tmp_path.name}")
    try:
        received = home / "demo-received"
        screen = term.wait_for("getsh>")
        assert f"received objects go to {received} (the demo's own directory; output DIR chooses another)" in screen
        term.wait_for("output ~/home/demo-received")  # the toolbar names it
        for _ in range(2):
            term.keys("get QueryRetrieveLevel=PATIENT PatientID=DEMO003", "Enter")
            term.wait_for("C-GET Success")
            term.keys("C-l")
        assert list(clone.iterdir()) == []
        names = sorted(p.name for p in received.iterdir())
        assert len(names) == 8 and sum(name.endswith("_1") for name in names) == 4
    finally:
        term.close()
