"""Drive getsh as a user would: the real prompt_toolkit application on pipe input, or the binary.

``ShellDriver`` runs the real REPL (``run_shell``) in a thread and types into it key by
key, waiting between keys the way a person does, so that asynchronous completion has
finished before Enter arrives. Output goes to in-memory streams the tests read.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

import getsh.commands  # noqa: F401
from getsh.context import Context
from getsh.env import Environment
from getsh.exitstatus import ExitStatus
from getsh.runner import Runner
from getsh.shell.render import Renderer
from getsh.shell.repl import make_session, run_shell


def make_context(
    home: Path | None = None, stdin: str = "", width: int = 200
) -> tuple[Context, io.StringIO, io.StringIO]:
    """A context on in-memory streams, as wide as a big terminal so table cells do not fold."""
    out, err = io.StringIO(), io.StringIO()
    env = Environment(
        stdin=io.StringIO(stdin), stdout=out, stderr=err, home=home or Path(os.environ["GETSH_HOME"]), width=width
    )
    return Context(env), out, err


def close_session(ctx: Context) -> None:
    """What a test leaves behind: the association aborted, and a C-MOVE receiver (listen) stopped."""
    ctx.session.link.close(abort=True)
    if ctx.session.receiver is not None:
        ctx.session.receiver.stop(grace=0)


def make_runner(ctx: Context) -> Runner:
    return Runner(ctx, Renderer(ctx.env.console, ctx.env.err_console))


class Shell:
    """The runner over in-memory streams, as ``getsh -c`` uses it: ``run`` gives (status, what was shown)."""

    def __init__(self, home: Path | None = None, width: int = 200) -> None:
        self.ctx, self.out, self.err = make_context(home, width=width)
        self.runner = make_runner(self.ctx)

    def run(self, line: str) -> tuple[ExitStatus, str]:
        start_out, start_err = len(self.out.getvalue()), len(self.err.getvalue())
        status = self.runner.run_line(line)
        return status, self.out.getvalue()[start_out:] + self.err.getvalue()[start_err:]

    def close(self) -> None:
        close_session(self.ctx)


class ShellDriver:
    """The real REPL on a pipe. Use as a context manager; ``type`` sends keys."""

    def __init__(self, home: Path | None = None, key_delay: float = 0.15, width: int = 200) -> None:
        self.ctx, self.out, self.err = make_context(home, width=width)
        self.runner = make_runner(self.ctx)
        self.lines_run = 0
        run_line = self.runner.run_line

        def counting(line: str) -> ExitStatus:
            try:
                return run_line(line)
            finally:
                self.lines_run += 1

        self.runner.run_line = counting  # type: ignore[method-assign]
        self.key_delay = key_delay
        self.outcome: ExitStatus | None = None
        self._pipe = create_pipe_input()
        self._input = self._pipe.__enter__()
        self.session = make_session(self.ctx, input=self._input, output=DummyOutput())
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.outcome = run_shell(self.ctx, self.runner, session=self.session)

    def __enter__(self) -> ShellDriver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread.is_alive():
            self._input.send_text("\x15\x04")  # Ctrl-U, Ctrl-D: leave even with text on the line
            self._thread.join(10)
        self._pipe.__exit__(None, None, None)
        close_session(self.ctx)

    def type(self, *chunks: str) -> None:
        """Send each chunk (text or keys such as ``\\t``), pausing after each like a person."""
        for chunk in chunks:
            self._input.send_text(chunk)
            time.sleep(self.key_delay)

    def line(self, text: str, timeout: float = 20.0) -> str:
        """Type a whole line plus Enter and wait until the shell has run it; return its output."""
        before_out, before_err = len(self.out.getvalue()), len(self.err.getvalue())
        count = self.lines_run
        self.type(text, "\r")
        self.wait_idle(count, timeout)
        return self.out.getvalue()[before_out:] + self.err.getvalue()[before_err:]

    def wait_idle(self, lines_before: int, timeout: float = 20.0) -> None:
        """Wait until one more line has run (or the shell ended)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.lines_run > lines_before or not self._thread.is_alive():
                break
            time.sleep(0.02)
        time.sleep(self.key_delay)

    def finish(self, timeout: float = 10.0) -> ExitStatus | None:
        self._thread.join(timeout)
        return self.outcome

    def completions(self, wait: float = 10.0) -> dict[str, str]:
        """What the completion menu offers: text → the note shown beside it. Completion runs in the
        background, so this waits up to ``wait`` seconds for the menu (a loaded machine is slow to
        fill it); a test that expects no menu passes a short ``wait``."""
        deadline = time.monotonic() + wait
        seen, steady_since = -1, time.monotonic()
        while True:
            state = self.session.default_buffer.complete_state
            count = len(state.completions) if state else 0
            if count != seen:  # still filling: completions arrive as the completer yields them
                seen, steady_since = count, time.monotonic()
            if (count and time.monotonic() - steady_since >= 0.3) or time.monotonic() >= deadline:
                return {c.text: c.display_meta_text for c in state.completions} if state else {}
            time.sleep(0.05)

    @property
    def buffer(self) -> str:
        return self.session.default_buffer.text

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()


def run_getsh(
    args: Sequence[str], stdin: str | None = None, timeout: float = 60.0, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The installed program, as a user runs it (``python -m getsh`` in this interpreter)."""
    return subprocess.run(
        [sys.executable, "-m", "getsh", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
