"""What the shell and its deferred start share, with no DICOM imports: the one PromptSession
factory (style, history file, completion and toolbar as given), and the prompt loop."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.completion import Completer
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.history import FileHistory, History, InMemoryHistory, ThreadedHistory
from prompt_toolkit.input import Input
from prompt_toolkit.output import Output
from prompt_toolkit.shortcuts import CompleteStyle
from prompt_toolkit.styles import Style
from rich.console import Console
from rich.text import Text

from getsh.exitstatus import ExitStatus, worst
from getsh.literal import literal
from getsh.settings import secret_at

if TYPE_CHECKING:
    from getsh.env import Environment
    from getsh.runner import Runner

STYLE = Style.from_dict({
    "prompt": "bold",
    "toolbar.ok": "fg:ansigreen",
    "toolbar.warn": "fg:ansiyellow",
    "toolbar.bad": "fg:ansired",
})


def holds_secret(line: str) -> bool:
    """Whether a typed line gives a secret setting its value, or a secret where its source belongs
    (``set user-secret hunter2``): such a line is kept out of the history, in memory and on disk."""
    for statement in line.split(";"):
        try:
            words = shlex.split(statement)
        except ValueError:  # an open quote: the words as they are
            words = statement.split()
        if secret_at(words) is not None:
            return True
    return False


class _KeptOut(ThreadedHistory):
    """The history file, without the lines that hold a secret."""

    def append_string(self, string: str) -> None:
        if not holds_secret(string):
            super().append_string(string)


class _KeptOutInMemory(InMemoryHistory):
    def append_string(self, string: str) -> None:
        if not holds_secret(string):
            super().append_string(string)


def open_history(env: Environment) -> History:
    """The persistent history file; a shell that cannot write it still runs, with memory only. A line that
    holds a secret is kept out of both (``holds_secret``)."""
    try:
        env.ensure_home()
        path = env.history_path
        path.touch(exist_ok=True)
        return _KeptOut(FileHistory(str(path)))
    except OSError:
        return _KeptOutInMemory()


def make_prompt_session(
    env: Environment,
    completer: Completer,
    toolbar: Callable[[], StyleAndTextTuples],
    input: Input | None = None,
    output: Output | None = None,
) -> PromptSession[str]:
    """The shell's one PromptSession. The plain start gives it the registry's completer and the
    session's toolbar; the deferred start gives stand-ins that become them once loaded."""
    return new_session(
        history=open_history(env),
        auto_suggest=AutoSuggestFromHistory(),
        completer=completer,
        complete_while_typing=True,
        complete_style=CompleteStyle.COLUMN,  # one column, each description beside it
        bottom_toolbar=toolbar,
        refresh_interval=1.0,
        input=input,
        output=output,
    )


def new_session(**options: Any) -> PromptSession[str]:
    """Where every PromptSession is made, in getsh's style: the shell's own (``make_prompt_session``)
    and the short-lived one a y/N question is asked with (``yes_no``: no history, no completion)."""
    return PromptSession(style=STYLE, **options)


LABEL_WIDTH = 24  # a step of the path in the prompt, at most
PATH_WIDTH = 48  # the whole path in the prompt, at most: its end is kept


def short_path(labels: Sequence[str]) -> str:
    """Where ls and cd stand, for the prompt: each label elided, the path's start dropped when long,
    peer text made literal."""
    steps = [literal(label) for label in labels]
    steps = [s if len(s) <= LABEL_WIDTH else s[: LABEL_WIDTH - 1] + "…" for s in steps]
    path = "/".join(steps)
    return path if len(path) <= PATH_WIDTH else "…" + path[-(PATH_WIDTH - 1):]


def prompt_message(where: Callable[[], Sequence[str]]) -> Callable[[], StyleAndTextTuples]:
    """The prompt: getsh, and where ls and cd stand (``where``: the labels of the path) below the root."""
    def message() -> StyleAndTextTuples:
        path = short_path(where())
        return [("class:prompt", f"getsh {path}> " if path else "getsh> ")]

    return message


def prompt_lines(session: PromptSession[str], runner_for: Callable[[], Runner],
                 where: Callable[[], Sequence[str]] = lambda: ()) -> ExitStatus:
    """Prompt until quit, Ctrl-D or end of input; Ctrl-C clears the line. Each line runs on
    ``runner_for()``, which may wait (the deferred start's loader); the worst outcome. The prompt
    shows ``where()``, the path ls and cd stand at."""
    outcome = ExitStatus.SUCCESS
    message = prompt_message(where)
    while True:
        try:
            line = session.prompt(message)
            runner = runner_for()
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        runner.ctx.ask = yes_no(session, runner.ctx.env.console)  # while a typed line runs, someone answers
        try:
            outcome = worst(outcome, runner.run_line(line))
        finally:
            runner.ctx.ask = None
        if runner.ctx.session.quit_requested:
            break
    return outcome


def yes_no(session: PromptSession[str], console: Console) -> Callable[[str, str], bool]:
    """A y/N question on the shell's own terminal, for a command that must ask before it acts: why, shown
    as a warning line, then the question; only y or yes is yes (Enter, Ctrl-C and Ctrl-D are no). Asked
    outside the history: the answer is no command."""

    def ask(why: str, question: str) -> bool:
        console.print(Text(f"warning: {literal(why)}", style="yellow"), soft_wrap=True)
        asking = new_session(input=session.input, output=session.output)
        try:
            answer = asking.prompt([("class:prompt", f"{question} [y/N] ")])
        except (KeyboardInterrupt, EOFError):
            return False
        return answer.strip().lower() in ("y", "yes")

    return ask
