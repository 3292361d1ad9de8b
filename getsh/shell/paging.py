"""Long output through a pager, as git and psql do: only for a line typed at the shell's prompt on a
terminal, and only when it does not fit on the screen (``set pager auto``, the default), always
(``on``) or never (``off``). Never in scripts, pipes, ``-c`` or replays: whoever builds the renderer
says when paging is possible (app.make_runner).

The pager is ``$PAGER`` (run by the shell, as git runs it), else ``less -RS`` (colours kept, long
lines not folded), else none: the text is printed. ``LESS`` gets ``R`` when it is not set, so a
``$PAGER`` of plain ``less`` keeps the colours too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.text import Text

DEFAULT_PAGER = "less -RS"
MODES = ("auto", "on", "off")


def pager_command() -> str | None:
    """``$PAGER`` if set (and not empty), else ``less -RS`` if less is installed, else None."""
    chosen = os.environ.get("PAGER", "").strip()
    if chosen:
        return chosen
    return DEFAULT_PAGER if shutil.which("less") else None


def run_pager(command: str, text: str) -> bool:
    """``text`` through ``command``; False when the pager could not be run (the caller prints it).
    Ctrl-C belongs to the pager while it runs (less uses it to stop a search)."""
    env = dict(os.environ)
    env.setdefault("LESS", "R")
    try:
        process = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, env=env)  # $PAGER: a shell line, as git
    except OSError:
        return False
    assert process.stdin is not None
    try:
        process.stdin.write(text.encode("utf-8", "replace"))
    except (BrokenPipeError, KeyboardInterrupt):
        pass  # the reader quit before reading it all
    finally:
        try:
            process.stdin.close()
        except BrokenPipeError:
            pass
    while True:
        try:
            status = process.wait()
            break
        except KeyboardInterrupt:
            continue
    return status not in (126, 127)  # the shell could not find or run it


class Paging:
    """Decides, for one drawing, whether it goes through the pager. ``mode()`` is the pager setting
    where paging is possible and "off" everywhere else."""

    def __init__(self, console: Console, mode: Callable[[], str]) -> None:
        self.console = console
        self.mode = mode

    @contextmanager
    def around(self) -> Iterator[None]:
        """What is printed inside goes to the pager when it is long (or the mode is on); else as usual."""
        mode = self.mode()
        command = pager_command() if mode != "off" and self.console.is_terminal else None
        if command is None:
            yield
            return
        self.console.begin_capture()
        try:
            yield
        finally:
            text = self.console.end_capture()
            self.show(text, command, always=mode == "on")

    def show(self, text: str, command: str, always: bool) -> None:
        fits = text.count("\n") < self.console.height - 1  # the prompt's line stays in view
        if always or not fits:
            if run_pager(command, text):
                return
            self.console.print(Text(f"warning: the pager ({command}) could not be run: set pager off, or "
                                    "set PAGER", style="yellow"))
        self.console.file.write(text)
        self.console.file.flush()
