"""What the shell and its deferred start share, with no DICOM imports: the one PromptSession
factory (style, history file, completion and toolbar as given), and the prompt loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

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


def make_prompt_session(
    env: Environment,
    completer: Completer,
    toolbar: Callable[[], StyleAndTextTuples],
    input: Input | None = None,
    output: Output | None = None,
) -> PromptSession[str]:
    """The shell's one PromptSession. The plain start gives it the registry's completer and the
    session's toolbar; the deferred start gives stand-ins that become them once loaded."""
    return PromptSession(
        history=open_history(env),
        auto_suggest=AutoSuggestFromHistory(),
        completer=completer,
        complete_while_typing=True,
        complete_style=CompleteStyle.MULTI_COLUMN,
        bottom_toolbar=toolbar,
        refresh_interval=1.0,
        style=STYLE,
        input=input,
        output=output,
    )


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
        asking: PromptSession[str] = PromptSession(input=session.input, output=session.output, style=STYLE)
        try:
            answer = asking.prompt([("class:prompt", f"{question} [y/N] ")])
        except (KeyboardInterrupt, EOFError):
            return False
        return answer.strip().lower() in ("y", "yes")

    return ask
