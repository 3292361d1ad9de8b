"""What a setting is: its declaration (a row of settings.py's table), its allowed values and the
getscu options that select them, and where its current value came from."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from getsh.errors import UsageError


class Origin(Enum):
    """Where a setting's current value came from (shown by ``settings``)."""

    DEFAULT = "default"
    CONFIG = "config"
    COMMAND_LINE = "command line"
    TYPED = "typed"
    DEMO = "--demo"  # the demo's own output directory (app.py), unless the user chose one


@dataclass(frozen=True)
class Choice:
    """One allowed value of an enumerated setting and the getscu options that select it. Its help
    may be given as a function, called when first shown: transfer-syntax names come from pydicom,
    which the command line and the first prompt do not wait for."""

    value: str
    flags: tuple[str, ...]
    help_source: str | Callable[[], str]

    @property
    def help(self) -> str:
        return self.help_source if isinstance(self.help_source, str) else _help_of(self.help_source)


@functools.cache
def _help_of(source: Callable[[], str]) -> str:
    return source()


@dataclass(frozen=True)
class Setting:
    name: str
    help: str
    default: Any
    parse: Callable[[str], Any] = str
    show: Callable[[Any], str] = str
    choices: tuple[Choice, ...] = ()
    flags: tuple[str, ...] = ()  # getscu options that take this setting's value as their argument
    metavar: str = "VALUE"
    renegotiate: bool = False  # a change marks the open association stale
    apply: Callable[[Any], None] | None = None  # takes effect at once, e.g. the log level
    secret: bool = False  # a password or passphrase: shown masked, never written to a recording or history
    mask_if: Callable[[str], bool] | None = None  # a typed value this calls secret is masked like one (a password
    # typed where user-secret wants env:VAR or file:PATH)
    recorded: bool = True  # False: only how getsh reports (log level), so a replay keeps the replayer's own
    # (value, what it means) for a value being typed, when the choices do not say (directories, SOP classes)
    complete: Callable[[str], Iterable[tuple[str, str]]] | None = None
    # a value given on the command line is checked before anything is sent (getscu's -od must exist)
    check_given: Callable[[str], None] | None = None
    # (mode, default) where a mode's default differs: `getsh get` keeps getscu's behaviour
    mode_defaults: tuple[tuple[str, Any], ...] = ()

    def default_in(self, mode: str) -> Any:
        """The default in ``mode`` (shell, get, echo, run): the row's, unless the mode has its own."""
        return dict(self.mode_defaults).get(mode, self.default)

    def hides(self, value: str) -> bool:
        """Whether a line giving this setting ``value`` is masked wherever it is kept (history, recordings)."""
        return self.secret or (self.mask_if is not None and self.mask_if(value))

    def choice_values(self) -> list[str]:
        return [c.value for c in self.choices]

    def completions(self, text: str) -> Iterable[tuple[str, str]]:
        """(value, what it means) for a value being typed: the row's completer, or the choices that match."""
        if self.complete is not None:
            return self.complete(text)
        prefix = text.lower()
        return ((c.value, c.help) for c in self.choices if c.value.lower().startswith(prefix))

    def convert(self, text: str) -> Any:
        """Parse a typed value; raise UsageError naming the setting and what it accepts."""
        if self.choices:
            wanted = text.strip().lower()
            for choice in self.choices:
                if wanted == choice.value:  # a typed setting (abort: on/off) parses its choice
                    return choice.value if self.parse is str else self.parse(choice.value)
            raise UsageError(
                f"{self.name}: {text!r} is not one of its values",
                f"choose one of: {', '.join(self.choice_values())}",
            )
        try:
            return self.parse(text)
        except ValueError as exc:
            raise UsageError(f"{self.name}: {exc}", f"'help {self.name}' or 'settings' shows what it takes") from None
