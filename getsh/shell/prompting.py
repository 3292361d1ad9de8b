"""What the shell and its deferred start share, with no DICOM imports: the style, the history
file, and the prompt loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from prompt_toolkit import PromptSession
from prompt_toolkit.history import FileHistory, History, InMemoryHistory, ThreadedHistory
from prompt_toolkit.styles import Style

from getsh.exitstatus import ExitStatus, worst

if TYPE_CHECKING:
    from getsh.env import Environment
    from getsh.runner import Runner

STYLE = Style.from_dict({
    "prompt": "bold",
    "toolbar.ok": "fg:ansigreen",
    "toolbar.warn": "fg:ansiyellow",
    "toolbar.bad": "fg:ansired",
})


def open_history(env: Environment) -> History:
    """The persistent history file; a shell that cannot write it still runs, with memory only."""
    try:
        env.ensure_home()
        path = env.history_path
        path.touch(exist_ok=True)
        return ThreadedHistory(FileHistory(str(path)))
    except OSError:
        return InMemoryHistory()


def prompt_lines(session: PromptSession[str], runner_for: Callable[[], Runner]) -> ExitStatus:
    """Prompt until quit, Ctrl-D or end of input; Ctrl-C clears the line. Each line runs on
    ``runner_for()``, which may wait (the deferred start's loader); the worst outcome."""
    outcome = ExitStatus.SUCCESS
    while True:
        try:
            line = session.prompt([("class:prompt", "getsh> ")])
            runner = runner_for()
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        outcome = worst(outcome, runner.run_line(line))
        if runner.ctx.session.quit_requested:
            break
    return outcome
