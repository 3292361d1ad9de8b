"""The interactive prompt: the session's PromptSession, and its lines fed to the runner."""

from __future__ import annotations

from prompt_toolkit import PromptSession
from prompt_toolkit.input import Input
from prompt_toolkit.output import Output

from getsh.context import Context
from getsh.exitstatus import ExitStatus
from getsh.lifetime import SessionLifetime
from getsh.registry import REGISTRY
from getsh.runner import Runner
from getsh.shell.completion import RegistryCompleter
from getsh.shell.prompting import make_prompt_session, prompt_lines
from getsh.shell.toolbar import toolbar


def make_session(ctx: Context, input: Input | None = None, output: Output | None = None) -> PromptSession[str]:
    return make_prompt_session(ctx.env, RegistryCompleter(ctx, REGISTRY), toolbar(ctx), input, output)


def where(ctx: Context) -> tuple[str, ...]:
    """The labels of the path ls and cd stand at (none at the root, or when the model or the peer changed)."""
    return ctx.session.browse.labels_under(ctx.settings["model"], ctx.archive())


def run_shell(
    ctx: Context,
    runner: Runner,
    input: Input | None = None,
    output: Output | None = None,
    session: PromptSession[str] | None = None,
) -> ExitStatus:
    """Prompt until quit, Ctrl-D or end of input (Ctrl-C clears the line); then close the session,
    showing the release. The worst outcome of the lines."""
    session = session or make_session(ctx, input, output)
    with SessionLifetime(runner, show_released=True) as life:
        if not ctx.session.quit_requested:
            life.outcome = prompt_lines(session, lambda: runner, lambda: where(ctx))
    return life.outcome
