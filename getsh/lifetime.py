"""How every session ends, whatever started it: the one place that closes a session and hears Ctrl-C.

The shell (plain or deferred), ``-c``, piped input, ``getsh run``, ``getsh get`` and ``getsh echo``
all run their lines inside ``SessionLifetime``. On the way out it stops a recording (what was
recorded is on disk already), releases the association (or aborts it, with the ``abort``
setting), shows the Released event where the mode shows it, then runs what the mode asked to
run after that (the demo archive stops last, so the release still reaches it). A Ctrl-C that
reaches it ends the session with ExitStatus.ERROR instead of a traceback.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

from getsh.exitstatus import ExitStatus, worst

if TYPE_CHECKING:
    from getsh.runner import Runner


class SessionLifetime:
    """A context manager around a session's lines; ``outcome`` is the exit status so far.

    ``runner`` may be attached late (the deferred shell has none until its libraries load);
    a lifetime without one has nothing to close. Closing twice is harmless, so a shell can own
    its lifetime inside a mode's.
    """

    def __init__(self, runner: Runner | None = None, *, show_released: bool = False) -> None:
        self.runner = runner
        self.show_released = show_released
        self.outcome = ExitStatus.SUCCESS
        self._after: list[Callable[[], object]] = []

    def update(self, status: ExitStatus) -> ExitStatus:
        """Fold one command's status into the outcome (the worst wins); the outcome so far."""
        self.outcome = worst(self.outcome, status)
        return self.outcome

    def after_close(self, action: Callable[[], object]) -> None:
        """Run ``action`` once the session is closed (e.g. stop the demo archive it talks to)."""
        self._after.append(action)

    def __enter__(self) -> SessionLifetime:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> bool:
        interrupted = kind is not None and issubclass(kind, KeyboardInterrupt)
        if interrupted:
            self.update(ExitStatus.ERROR)
        try:
            self.close()
        finally:
            actions, self._after = self._after, []
            for action in actions:
                action()
        return interrupted

    def close(self) -> None:
        """Stop a recording, then release (or abort) the association; show Released if asked."""
        if self.runner is None:
            return
        ctx = self.runner.ctx
        recording, ctx.session.script.recording = ctx.session.script.recording, None
        if recording is not None:
            with contextlib.suppress(OSError):
                recording.stop()
        released = ctx.session.link.close(abort=ctx.settings["abort"])
        for line in ctx.session.link.tracer.drain(final=True):  # trace on: the release, as it went
            self.runner.renderer.show(line)
        if released is not None and self.show_released:
            self.runner.renderer.show(released)
        receiver, ctx.session.receiver = ctx.session.receiver, None
        if receiver is not None:  # listen on: it stops with the session
            receiver.stop()
