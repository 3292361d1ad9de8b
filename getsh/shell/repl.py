"""The interactive prompt: composes a PromptSession and feeds each line to the runner."""

from __future__ import annotations

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.input import Input
from prompt_toolkit.output import Output
from prompt_toolkit.shortcuts import CompleteStyle

from getsh.context import Context
from getsh.exitstatus import ExitStatus
from getsh.registry import REGISTRY
from getsh.runner import Runner
from getsh.shell.completion import RegistryCompleter
from getsh.shell.prompting import STYLE, open_history, prompt_lines
from getsh.shell.toolbar import toolbar


def make_session(ctx: Context, input: Input | None = None, output: Output | None = None) -> PromptSession[str]:
    return PromptSession(
        history=open_history(ctx.env),
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
    outcome = ExitStatus.SUCCESS if ctx.session.quit_requested else prompt_lines(session, lambda: runner)
    released = ctx.session.link.close(abort=ctx.settings["abort"])
    if released is not None:
        runner.renderer.show(released)
    return outcome
