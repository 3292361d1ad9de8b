"""The interactive shell's first prompt, drawn before the DICOM libraries are loaded.

Why: importing pydicom (with numpy) and pynetdicom, and with them every command, takes ~0.4 s
of a ~0.5 s start-up; a person reads the prompt and starts typing in that time. So a plain
``getsh`` on a terminal draws its prompt with prompt_toolkit alone, then loads the rest on a
thread (the Loader). A line entered before it is ready waits for it; so does the first
completion. The toolbar says what it is doing meanwhile. Nothing is lost or reordered: lines
run one at a time on this thread, exactly as in ``repl.run_shell``.

Only the plain interactive start takes this path; anything that must talk to a peer or run
commands before the prompt (a peer on the command line, ``--demo``, ``-c``, piped input, ``-k``)
needs the libraries first anyway and goes through ``app.run``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.shortcuts import CompleteStyle
from rich.markup import escape

from getsh.exitstatus import ExitStatus
from getsh.shell.prompting import STYLE, open_history, prompt_lines

if TYPE_CHECKING:
    from getsh.context import Context
    from getsh.env import Environment
    from getsh.runner import Runner
    from getsh.settings import Settings


class Loader:
    """Builds the context and runner (importing everything they need) on a thread, once."""

    def __init__(self, build: Callable[[], tuple[Context, Runner]],
                 on_ready: Callable[[], None] = lambda: None) -> None:
        self._build = build
        self._on_ready = on_ready
        self._done = threading.Event()
        self._started = threading.Lock()
        self._thread: threading.Thread | None = None
        self.result: tuple[Context, Runner] | None = None
        self.error: BaseException | None = None

    @property
    def ready(self) -> bool:
        return self._done.is_set()

    def start(self, *_: Any) -> None:
        with self._started:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="getsh-loader", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        try:
            self.result = self._build()
        except BaseException as exc:  # re-raised on the shell's thread by wait()
            self.error = exc
        finally:
            self._done.set()
            self._on_ready()

    def wait(self) -> tuple[Context, Runner]:
        self.start()
        self._done.wait()
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


class DeferredCompleter(Completer):
    """The registry's completer, once the loader has made it (the first Tab may wait for it)."""

    def __init__(self, loader: Loader) -> None:
        self.loader = loader
        self._real: Completer | None = None

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        if self._real is None:
            ctx, _ = self.loader.wait()
            from getsh.registry import REGISTRY
            from getsh.shell.completion import RegistryCompleter

            self._real = RegistryCompleter(ctx, REGISTRY)
        return self._real.get_completions(document, complete_event)


def _toolbar(loader: Loader) -> Callable[[], StyleAndTextTuples]:
    real: list[Callable[[], StyleAndTextTuples]] = []

    def draw() -> StyleAndTextTuples:
        if not loader.ready or loader.error is not None:
            return [("", " loading pydicom and pynetdicom… (type away: the first line waits for them) ")]
        if not real:
            from getsh.shell.toolbar import toolbar

            real.append(toolbar(loader.wait()[0]))
        return real[0]()

    return draw


def run_deferred_shell(env: Environment, settings: Settings, welcome: str) -> int:
    """The plain interactive shell: prompt first, libraries behind it. The exit status, as app.run's."""
    session: PromptSession[str] | None = None

    def build() -> tuple[Context, Runner]:
        from getsh.app import make_runner
        from getsh.context import Context

        ctx = Context(env, settings)
        return ctx, make_runner(ctx)

    def ready() -> None:
        if session is not None:
            session.app.invalidate()  # thread-safe: redraws the toolbar now, not at the next second

    loader = Loader(build, ready)
    session = PromptSession(
        history=open_history(env),
        auto_suggest=AutoSuggestFromHistory(),
        completer=DeferredCompleter(loader),
        complete_while_typing=True,
        complete_style=CompleteStyle.MULTI_COLUMN,
        bottom_toolbar=_toolbar(loader),
        refresh_interval=1.0,
        style=STYLE,
    )
    session.app.after_render += loader.start  # the prompt is on the screen: now load the rest
    env.console.print(escape(welcome))  # as the shell's Notice
    outcome = ExitStatus.SUCCESS  # an interactive session that ends normally succeeded (as app.run)
    try:
        prompt_lines(session, lambda: loader.wait()[1])
    except KeyboardInterrupt:
        outcome = ExitStatus.ERROR
    except Exception as exc:  # the libraries could not be loaded: nothing can run
        env.stderr.write(f"getsh: cannot load pydicom and pynetdicom: {type(exc).__name__}: {exc} — "
                         "reinstall getsh (pip install --force-reinstall getsh)\n")
        return int(ExitStatus.ERROR)
    finally:
        if loader.ready and loader.result is not None:
            from getsh.app import close_session

            ctx, runner = loader.result
            released = close_session(ctx)
            if released is not None:
                runner.renderer.show(released)
    return int(outcome)
