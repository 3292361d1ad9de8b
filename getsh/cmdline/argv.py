"""One loop reads every mode's command line, driven by that mode's table of options.

An ``Option`` says everything about one option: its spellings, whether it takes a value (a
``metavar``), how the value is converted or checked, where it goes in ``Options``, and its help.
A ``Mode`` is a table of them plus what a word that is no option means. As in DCMTK, options are
read left to right (so the rightmost of exclusive ones wins) and each takes the next word as its
value; in a mode that allows it (``getsh run``, as ``--var=A=1``), ``--long=VALUE`` is ``--long VALUE``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from getsh.cmdline.options import Options
from getsh.errors import GetshError, UsageError

# where an option goes: called with the Options being filled and the converted value (None for a flag)
Store = Callable[[Options, Any], None]


@dataclass(frozen=True)
class Option:
    spellings: tuple[str, ...]
    help: str
    store: Store
    metavar: str = ""  # the value's name in help; empty for a flag, which takes no value
    convert: Callable[[str], Any] = str  # raises ValueError (or a GetshError) saying what is wrong
    hint: str | None = None  # the hint for a bad value; None: the mode's usage
    repeatable: bool = False  # shown as NAME… in a usage line
    arity: int = 1  # how many words it takes when it takes a value (DCMTK's +tls KEY CERT: 2; convert gets a list)

    @property
    def takes_value(self) -> bool:
        return bool(self.metavar)

    @property
    def label(self) -> str:
        """How help lists it: ``-k, --key KEY``."""
        return ", ".join(self.spellings) + (f" {self.metavar}" if self.metavar else "")

    @property
    def usage(self) -> str:
        """How a usage line shows it: ``[--junit FILE]``."""
        value = f" {self.metavar}{'…' if self.repeatable else ''}" if self.metavar else ""
        return f"[{self.spellings[0]}{value}]"


@dataclass(frozen=True)
class Mode:
    """One way to run getsh, as its command line is read."""

    name: str
    options: tuple[Option, ...]  # its own, listed in its part of the help
    shared: tuple[Option, ...]  # taken too, listed elsewhere in the help (--help, the settings)
    usage: str  # the hint of an unknown option or a bad value
    unknown: str  # what an unknown option is called ("unknown option {word}")
    positional: Callable[[str], bool]  # whether a word that is no option is an operand (else unknown)
    finish: Callable[[Options, list[str]], None]  # what the operands mean, and the checks of the whole line
    unknown_hint: str = ""  # the hint for an unknown option; empty: the usage
    inline_values: bool = False  # whether --long=VALUE is read as --long VALUE (getscu's options are not)

    def table(self) -> dict[str, Option]:
        return {spelling: option for option in (*self.shared, *self.options) for spelling in option.spellings}


def parse_words(words: Sequence[str], mode: Mode, opts: Options) -> list[str]:
    """Apply each option in ``words`` to ``opts`` in order; the operands, in order (``mode.finish``
    reads them)."""
    table = mode.table()
    operands: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        spelling, inline = _split_inline(word, table) if mode.inline_values else (word, None)
        option = table.get(spelling)
        if option is None:
            if not mode.positional(word):
                raise UsageError(mode.unknown.format(word=word), mode.unknown_hint or mode.usage)
            operands.append(word)
            continue
        value = None
        if option.takes_value:
            if option.arity > 1:
                if index + option.arity > len(words):
                    raise UsageError(f"option {word} needs {option.arity} values: {option.metavar}",
                                     "see: getsh --help")
                value = _converted(option, spelling, words[index:index + option.arity], mode)
                index += option.arity
                option.store(opts, value)
                continue
            if inline is None:
                if index >= len(words):
                    raise UsageError(f"option {word} needs a value", "see: getsh --help")
                inline = words[index]
                index += 1
            value = _converted(option, spelling, inline, mode)
        option.store(opts, value)
    return operands


def _split_inline(word: str, table: dict[str, Option]) -> tuple[str, str | None]:
    """``--junit=r.xml`` → (``--junit``, ``r.xml``) for a long option that takes a value."""
    name, sep, value = word.partition("=")
    option = table.get(name)
    if sep and name.startswith("--") and option is not None and option.takes_value:
        return name, value
    return word, None


def _converted(option: Option, spelling: str, text: Any, mode: Mode) -> Any:
    try:
        return option.convert(text)
    except GetshError:
        raise
    except ValueError as exc:
        hint = mode.usage if option.hint is None else option.hint
        raise UsageError(f"{spelling}: {exc}", hint) from None


# --- where options go ------------------------------------------------------------------------------


def assign(name: str, value: Any = None) -> Store:
    """Set the field ``name``: to ``value`` for a flag, else to the option's converted value."""

    def store(opts: Options, given: Any) -> None:
        setattr(opts, name, value if given is None else given)

    return store


def append(name: str, value: Any = None) -> Store:
    """Append to the list field ``name``: ``value`` for a flag, else the option's converted value."""

    def store(opts: Options, given: Any) -> None:
        getattr(opts, name).append(value if given is None else given)

    return store


def extend(name: str, words: Callable[[Any], Iterable[Any]]) -> Store:
    """Add ``words(value)`` to the list field ``name`` (``getsh run``'s words of the ``source`` line)."""

    def store(opts: Options, given: Any) -> None:
        getattr(opts, name).extend(words(given))

    return store
