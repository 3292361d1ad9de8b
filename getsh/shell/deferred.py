"""The interactive shell's first prompt, drawn before the DICOM libraries are loaded.

Why: importing pydicom (with numpy) and pynetdicom, and with them every command, takes ~0.4 s
of a ~0.5 s start-up; a person reads the prompt and starts typing in that time. So a plain
``getsh`` on a terminal draws its prompt with prompt_toolkit alone, then loads the rest on a
thread (the Loader). A line entered before it is ready waits for it; so does the first
completion. The toolbar says what it is doing meanwhile. Nothing is lost or reordered: lines
run one at a time on this thread, exactly as in ``repl.run_shell``.

Only the plain interactive start takes this path; anything that must talk to a peer or run
commands before the prompt (a peer on the command line, ``--demo``, ``-c``, piped input, ``-k``)
needs the libraries first anyway and goes through ``app.run``. The command line hands this
module the callable that builds the session (it imports the composition root; this does not).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from prompt_toolkit.completion import Completer, DynamicCompleter, ThreadedCompleter
from prompt_toolkit.formatted_text import StyleAndTextTuples

from getsh.errors import GetshError
from getsh.exitstatus import ExitStatus
from getsh.lifetime import SessionLifetime
from getsh.shell.prompting import make_prompt_session, prompt_lines

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession

    from getsh.env import Environment
    from getsh.runner import Runner

LOADING: StyleAndTextTuples = [("", " loading pydicom and pynetdicom… (type away: the first line waits for them) ")]


class Loader:
    """Builds the session (importing everything it needs) on a thread, once."""

    def __init__(self, build: Callable[[], Runner], on_ready: Callable[[], None] = lambda: None) -> None:
        self._build = build
        self._on_ready = on_ready
        self._done = threading.Event()
        self._started = threading.Lock()
        self._thread: threading.Thread | None = None
        self.result: Runner | None = None
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

    def wait(self) -> Runner:
        self.start()
        self._done.wait()
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


def _completer(loader: Loader) -> Completer:
    """The registry's completer once the loader has made it. The first Tab waits for it, on a
    completion thread, so the prompt stays live meanwhile; if loading failed, nothing completes
    (the first line says why)."""
    made: list[Completer] = []
    lock = threading.Lock()

    def current() -> Completer | None:
        with lock:
            if not made:
                try:
                    runner = loader.wait()
                except Exception:
                    return None
                from getsh.registry import REGISTRY
                from getsh.shell.completion import RegistryCompleter

                made.append(RegistryCompleter(runner.ctx, REGISTRY))
        return made[0]

    return ThreadedCompleter(DynamicCompleter(current))


def _toolbar(loader: Loader) -> Callable[[], StyleAndTextTuples]:
    """What the loader is doing, then the session's own toolbar."""
    real: list[Callable[[], StyleAndTextTuples]] = []

    def draw() -> StyleAndTextTuples:
        if not loader.ready or loader.error is not None:
            return LOADING
        if not real:
            from getsh.shell.toolbar import toolbar

            real.append(toolbar(loader.wait().ctx))
        return real[0]()

    return draw


def _where(loader: Loader) -> tuple[str, ...]:
    """Where ls and cd stand, once the session is loaded (repl.where's; nothing is imported for it)."""
    if not loader.ready or loader.result is None:
        return ()
    ctx = loader.result.ctx
    return tuple(ctx.session.browse.labels_under(ctx.settings["model"], ctx.archive()))


def run_deferred_shell(env: Environment, welcome: str, build: Callable[[], Runner]) -> int:
    """The plain interactive shell: prompt first, the session ``build`` makes behind it. The exit
    status, as app.run's for an interactive shell."""
    session: PromptSession[str] | None = None

    def ready() -> None:
        if session is not None:
            session.app.invalidate()  # thread-safe: redraws the toolbar now, not at the next second

    loader = Loader(build, ready)
    session = make_prompt_session(env, _completer(loader), _toolbar(loader))
    session.app.after_render += loader.start  # the prompt is on the screen: now load the rest
    env.console.print(welcome)  # as the shell's Notice (the consoles read no markup)
    life = SessionLifetime(show_released=True)

    def runner_for() -> Runner:
        life.runner = loader.wait()  # the lifetime closes what the lines opened
        return life.runner

    try:
        with life:
            prompt_lines(session, runner_for, lambda: _where(loader))  # a session that ends normally succeeded
    except Exception as exc:  # the libraries could not be loaded: nothing can run
        error = GetshError(f"cannot load pydicom and pynetdicom: {type(exc).__name__}: {exc}",
                           "reinstall getsh (pip install --force-reinstall getsh)")
        env.stderr.write(error.plain(lead="getsh") + "\n")
        return int(ExitStatus.ERROR)
    return int(life.outcome)
