"""The one dispatch path and error boundary.

The prompt, ``getsh -c``, piped stdin and scripts all hand lines to ``Runner.run_line``:
parse with the registry, call the handler, pass each event or result to the renderer,
record the canonical form, and turn the outcome into an ExitStatus. Nothing else catches.

A handler that runs other commands (``source``) returns an object with a
``play_with(runner)`` method; the runner hands itself over, so every line of a script
comes back through ``run_invocation`` here. After each command the session's script state
hears what it did (the active recording, and what ``expect`` looks at).
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterable, Iterator
from io import TextIOBase
from typing import Any, Protocol, TextIO

from getsh.context import Context
from getsh.dicom.events import Notice
from getsh.dicom.net.trace_items import TraceItem
from getsh.errors import GetshError
from getsh.exitstatus import ExitStatus, worst
from getsh.registry import MAX_LINE, REGISTRY, Invocation, Registry, split_statements, too_long
from getsh.results import Outcome, RecordAs
from getsh.script.recording import public_line

log = logging.getLogger("getsh")


class Renderer(Protocol):
    def show(self, obj: Any) -> None: ...
    def error(self, error: GetshError) -> None: ...


def bounded_lines(stream: TextIOBase) -> Iterator[str | int]:
    """The lines of piped input; a line past MAX_LINE is read through and given as its length, so a
    binary file piped in with no newline is refused by its size, not held whole in memory."""
    while line := stream.readline(MAX_LINE + 1):
        if len(line) <= MAX_LINE or line.endswith("\n"):
            yield line
            continue
        length = len(line)
        while (rest := stream.readline(MAX_LINE + 1)) and not rest.endswith("\n"):
            length += len(rest)
        yield length + len(rest.rstrip("\n"))


class Runner:
    def __init__(self, ctx: Context, renderer: Renderer, registry: Registry = REGISTRY) -> None:
        self.ctx = ctx
        self.renderer = renderer
        self.registry = registry

    def rendering_to(self, renderer: Renderer) -> Runner:
        """A runner for the same session and commands that shows through ``renderer`` (a replay's lines)."""
        return Runner(self.ctx, renderer, self.registry)

    def run_line(self, line: str) -> ExitStatus:
        """Run every ``;``-separated command on the line; the worst outcome wins."""
        outcome = ExitStatus.SUCCESS
        try:
            statements = split_statements(line)
        except GetshError as error:  # a line too long to read
            self.renderer.error(error)
            return error.status
        for statement in statements:
            outcome = worst(outcome, self.run_one(statement))
            if self.ctx.session.quit_requested:
                break
        return outcome

    def run_lines(self, lines: Iterable[str] | TextIO) -> ExitStatus:
        """Non-interactive input: each line in turn; ``#`` comments and blank lines are skipped.
        From a stream, a line is read at most MAX_LINE characters at a time (see ``bounded_lines``)."""
        outcome = ExitStatus.SUCCESS
        for line in bounded_lines(lines) if isinstance(lines, TextIOBase) else lines:
            if isinstance(line, int):  # a line past the limit, skipped without being held whole
                error = too_long(line)
                self.renderer.error(error)
                outcome = worst(outcome, error.status)
                continue
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            outcome = worst(outcome, self.run_line(text))
            if self.ctx.session.quit_requested:
                break
        return outcome

    def run_one(self, text: str) -> ExitStatus:
        try:
            invocation = self.registry.parse(text)
        except GetshError as error:
            self.renderer.error(error)
            return error.status
        return self.dispatch(invocation)

    def dispatch(self, invocation: Invocation) -> ExitStatus:
        return self.run_invocation(invocation).status

    def run_invocation(self, invocation: Invocation) -> Outcome:
        """Run one parsed command: show what it produces, catch what it raises, remember what it did."""
        outcome = ExitStatus.SUCCESS
        items: list[Any] = []
        failure: GetshError | None = None
        self.ctx.session.link.tracer.mode = self.ctx.settings["trace"]
        try:
            for item in self.ctx.session.between_commands() if self.ctx.session.between_commands else ():
                self.renderer.show(item)  # e.g. objects listen took since the last command: numbered now
            result = invocation.command.handler(self.ctx, invocation.args)
            play = getattr(result, "play_with", None)
            for item in self._drive(play(self) if play is not None else result):
                items.append(item)
                outcome = worst(outcome, getattr(item, "exit_status", ExitStatus.SUCCESS))
        except GetshError as error:
            failure = error
        except KeyboardInterrupt:
            failure = GetshError(f"{invocation.command.name}: interrupted")
            failure.status = ExitStatus.ERROR
        except Exception as exc:  # the error boundary: no command may end the shell
            log.debug("internal error in %s", invocation.command.name, exc_info=True)
            failure = GetshError(
                f"{invocation.command.name}: internal error: {type(exc).__name__}: {exc}",
                "this is a bug in getsh; run with -d to see the traceback, and please report it",
            )
        items += self._traced(final=True)  # what the protocol did that nothing shown since has drawn
        self.ctx.session.link.tracer.mode = self.ctx.settings["trace"]  # trace off: silent from now on
        if failure is not None:
            self.renderer.error(failure)
            outcome = worst(outcome, failure.status)
        rewrite = next((i for i in items if isinstance(i, RecordAs)), None)
        if rewrite is not None:  # recorded as what it stood for (get 3: the row's unique keys)
            invocation = invocation.rewritten(rewrite.raw)
        line, _secret = public_line(invocation)
        done = Outcome(invocation.command.name, line, outcome, failure.message if failure else "",
                       failure.hint if failure else "", tuple(items))
        if invocation.command.record:
            self.ctx.session.history.append(line)
        warning = self.ctx.session.script.after(invocation, done)
        if warning:
            self.renderer.show(Notice(warning))
        return done

    def _drive(self, result: Any) -> Iterator[Any]:
        """Show what a handler returned or yields, as it comes.

        A Ctrl-C while an event is being drawn is thrown into the handler's generator, so a
        command that can be cancelled (a retrieve sends C-CANCEL) decides what it means;
        one that does not handle it ends with 'interrupted'.
        """
        if result is None:
            return
        if not isinstance(result, Generator):
            yield from self._traced()
            self.renderer.show(result)
            yield result
            return
        pending: KeyboardInterrupt | None = None
        while True:
            try:
                item = result.throw(pending) if pending is not None else next(result)
            except StopIteration:
                return
            pending = None
            # trace on: the protocol's lines come first (a line the handler yields itself is the first of them)
            traced = [] if isinstance(item, TraceItem) else self.ctx.session.link.tracer.drain()
            try:
                for line in traced:
                    self.renderer.show(line)
                self.renderer.show(item)
            except KeyboardInterrupt as interrupt:
                pending = interrupt
            yield from traced
            yield item

    def _traced(self, final: bool = False) -> list[Any]:
        """Show the trace lines not yet shown (trace on; net/trace.py); ``final``: the command ended."""
        lines = self.ctx.session.link.tracer.drain(final)
        try:
            for line in lines:
                self.renderer.show(line)
        except KeyboardInterrupt:
            pass  # between two commands' worth of output: nothing to cancel
        return lines
