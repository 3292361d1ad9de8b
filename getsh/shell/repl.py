"""The interactive prompt: composes a PromptSession and feeds each line to the runner."""

from __future__ import annotations

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.history import FileHistory, History, InMemoryHistory, ThreadedHistory
from prompt_toolkit.input import Input
from prompt_toolkit.output import Output
from prompt_toolkit.shortcuts import CompleteStyle
from prompt_toolkit.styles import Style

from getsh.context import Context
from getsh.exitstatus import ExitStatus, worst
from getsh.registry import REGISTRY
from getsh.runner import Runner
from getsh.shell.completion import RegistryCompleter
from getsh.shell.toolbar import toolbar

STYLE = Style.from_dict({
    "prompt": "bold",
    "toolbar.ok": "fg:ansigreen",
    "toolbar.warn": "fg:ansiyellow",
    "toolbar.bad": "fg:ansired",
})


def _history(ctx: Context) -> History:
    """The persistent history file; a shell that cannot write it still runs, with memory only."""
    try:
        ctx.env.ensure_home()
        path = ctx.env.history_path
        path.touch(exist_ok=True)
        return ThreadedHistory(FileHistory(str(path)))
    except OSError:
        return InMemoryHistory()


def make_session(ctx: Context, input: Input | None = None, output: Output | None = None) -> PromptSession[str]:
    return PromptSession(
        history=_history(ctx),
        auto_suggest=AutoSuggestFromHistory(),
        completer=RegistryCompleter(ctx, REGISTRY),
        complete_while_typing=True,
        complete_style=CompleteStyle.MULTI_COLUMN,
        bottom_toolbar=toolbar(ctx),
        refresh_interval=1.0,
        style=STYLE,
        input=input,
        output=output,
    )


def run_shell(
    ctx: Context,
    runner: Runner,
    input: Input | None = None,
    output: Output | None = None,
    session: PromptSession[str] | None = None,
) -> ExitStatus:
    """Prompt until quit, Ctrl-D or end of input. Ctrl-C clears the line."""
    session = session or make_session(ctx, input, output)
    outcome = ExitStatus.SUCCESS
    while not ctx.session.quit_requested:
        try:
            line = session.prompt([("class:prompt", "getsh> ")])
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        outcome = worst(outcome, runner.run_line(line))
    released = ctx.session.link.close(abort=ctx.settings["abort"])
    if released is not None:
        runner.renderer.show(released)
    return outcome
