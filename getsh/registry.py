"""Commands are declared once; parsing, help, completion, the canonical form and a dry run's checks come from that.

A handler never sees its command line as text: the registry splits it (shell quoting
rules), binds positional arguments and ``--options``, converts each value with the
argument's type and hands the handler a namespace. Completion and ``help`` read the same
declaration, and the canonical form rebuilt from it is what gets recorded. What a script
replay checks before running a line (``check``), and which script a line runs (``nested``),
are declared there too.
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from getsh.errors import UsageError, excerpt


@dataclass(frozen=True)
class Suggestion:
    """A completion candidate, UI-free: the text to insert and a note shown beside it."""

    text: str
    meta: str = ""


# Handlers and completers get the session's context (getsh.context.Context) first. The registry only hands it
# on from the runner, so it leaves the type unnamed: the context holds the whole session (scripts included) and
# sits above the declarations, not below them.
SessionContext = Any

# (context, the word being completed, the raw values already typed for earlier arguments)
CompleteFn = Callable[[SessionContext, str, dict[str, list[str]]], Iterable[Suggestion]]


@dataclass(frozen=True)
class Arg:
    """One argument of a command.

    A positional argument unless ``option`` is set (``--aet``); ``flag`` makes an option
    that takes no value. ``type`` converts the text and raises ValueError with a message
    that says what is wrong.
    """

    name: str
    help: str
    type: Callable[[str], Any] = str
    required: bool = True
    default: Any = None
    many: bool = False
    option: str | None = None
    flag: bool = False
    complete: CompleteFn | None = None
    metavar: str | None = None

    @property
    def label(self) -> str:
        return self.metavar or self.name.upper()

    def usage(self) -> str:
        if self.option:
            text = self.option if self.flag else f"{self.option} {self.label}"
            return f"[{text}]"
        text = f"{self.label}…" if self.many else self.label
        return text if self.required else f"[{text}]"


Handler = Callable[[SessionContext, SimpleNamespace], Any]
# What a dry run checks in a parsed line beyond its arguments' types (an expect form, a setting's value):
# raises a GetshError saying what is wrong.
LineCheck = Callable[["Invocation"], None]
# For a command that runs a script (source): which script a line of it runs, and with which variables,
# given the variables of the script it stands in. Replay validates that script too, before anything runs.
Nesting = Callable[["Invocation", Mapping[str, str]], tuple[str, Mapping[str, str]]]
# For a command that checks the one before it instead of doing something (expect): given its line, whether it
# judges that command's failure itself. A replay then goes on past the failure; a recording keeps the failed line.
Judge = Callable[["Invocation"], bool]


@dataclass(frozen=True)
class Command:
    name: str
    handler: Handler
    summary: str
    help: str = ""
    args: tuple[Arg, ...] = ()
    aliases: tuple[str, ...] = ()
    category: str = "general"
    record: bool = True  # False for commands that only look (help, history): not worth replaying
    check: LineCheck | None = None
    nested: Nesting | None = None
    judge: Judge | None = None

    @property
    def positionals(self) -> list[Arg]:
        return [a for a in self.args if not a.option]

    @property
    def options(self) -> list[Arg]:
        return [a for a in self.args if a.option]

    def usage(self) -> str:
        return " ".join([self.name, *(a.usage() for a in self.positionals), *(a.usage() for a in self.options)])

    def option(self, spelling: str) -> Arg | None:
        return next((a for a in self.options if a.option == spelling), None)


@dataclass(frozen=True)
class Invocation:
    """A parsed line: the command, converted values, and the raw words each argument got."""

    command: Command
    args: SimpleNamespace
    raw: dict[str, list[str]] = field(default_factory=dict)

    @property
    def checks_previous(self) -> bool:
        """A line that checks the command before it (expect) rather than doing something."""
        return self.command.judge is not None

    @property
    def judges_outcome(self) -> bool:
        """A check that judges whether the command before it failed (expect error, expect status)."""
        return self.command.judge is not None and self.command.judge(self)

    def canonical(self) -> str:
        """The line as the registry would write it: full name, positionals, then options.

        Values are written as converted (``MAX-PDU`` → ``max-pdu``), so equal commands
        record equally; a value with a ``canonical()`` method writes itself.
        """
        words = [self.command.name]
        for arg in self.command.positionals:
            words += self._words(arg)
        for arg in self.command.options:
            # a flag the handler turned on counts as given (a get confirmed at the prompt records --force)
            if arg.name in self.raw or (arg.flag and getattr(self.args, arg.name, None) is True and not arg.default):
                words.append(arg.option or "")
                if not arg.flag:
                    words += self._words(arg)
        return " ".join(words)

    def rewritten(self, raw: Mapping[str, list[str]]) -> Invocation:
        """The same command with some arguments' words replaced (``results.RecordAs``), bound again."""
        turned_on: dict[str, list[str]] = {a.name: [] for a in self.command.options  # flags the handler set
                     if a.flag and getattr(self.args, a.name, None) is True and not a.default}
        merged = {**self.raw, **turned_on, **raw}
        words: list[str] = []
        for arg in self.command.options:
            if arg.name in merged:
                words += [arg.option or ""] + ([] if arg.flag else merged[arg.name])
        words.append("--")
        for arg in self.command.positionals:
            words += merged.get(arg.name, [])
        return bind(self.command, words)

    def _words(self, arg: Arg) -> list[str]:
        raw = self.raw.get(arg.name, [])
        value = getattr(self.args, arg.name)
        values = value if arg.many else [value] * bool(raw)
        return [shlex.quote(_text(v, r)) for v, r in zip(values, raw, strict=True)]


def _text(value: Any, raw: str) -> str:
    if hasattr(value, "canonical"):
        return str(value.canonical())
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    return raw


MAX_LINE = 64 * 1024  # characters in one typed, piped or script line: far beyond any identifier a peer matches

# A word: runs of plain characters and quoted stretches, side by side ("a"'b'c is one word, abc). Each
# alternative starts with a different character, so matching never backtracks: linear in the line.
_WORD = re.compile(r"""(?:[^ \t\r\n'"]+|'[^']*'|"[^"]*")+""")
_SPACE = re.compile(r"[ \t\r\n]*")
_QUOTED = re.compile(r"'([^']*)'|\"([^\"]*)\"")
# A statement: quoted stretches and anything but ; — the ; outside quotes ends it.
_STATEMENT = re.compile(r"""(?:[^;'"]+|'[^']*'?|"[^"]*"?)*""")


def check_length(line: str) -> None:
    """Refuse a line past MAX_LINE before anything reads it word by word."""
    if len(line) > MAX_LINE:
        raise too_long(len(line))


def too_long(length: int) -> UsageError:
    return UsageError(f"the line is {length:,} characters long; a line holds at most {MAX_LINE:,}",
                      "a value that long is not an identifier: check what was pasted or piped in")


def split_words(line: str) -> list[str]:
    """Words as a shell splits them, except that a backslash is an ordinary character: DICOM
    separates multiple values with it (ModalitiesInStudy=CT\\MR). Quotes group words."""
    return [word for word, _column in split_spans(line)]


def split_spans(line: str) -> list[tuple[str, int]]:
    """Each word of ``split_words`` with the column (1-based) where it starts.

    shlex's rules (posix, whitespace_split, no escape, no comments), read with regular expressions:
    shlex grows each token a character at a time, which is quadratic (a 1 MB value took 12 s).
    """
    check_length(line)
    spans: list[tuple[str, int]] = []
    pos = _SPACE.match(line).end()  # type: ignore[union-attr]  # matches the empty string at least
    while pos < len(line):
        match = _WORD.match(line, pos)
        end = match.end() if match else pos
        if end < len(line) and line[end] in "'\"":
            error = UsageError(f"cannot read the line: the {line[end]} quote at column {end + 1} is not closed",
                               "close the quote")
            error.column = end + 1
            raise error
        spans.append((_QUOTED.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), line[pos:end]),
                      pos + 1))
        pos = _SPACE.match(line, end).end()  # type: ignore[union-attr]
    return spans


def split_statements(text: str) -> list[str]:
    """Split ``cmd; cmd`` on semicolons that are outside quotes (for ``getsh -c``)."""
    check_length(text)
    statements: list[str] = []
    pos = 0
    while True:
        end = _STATEMENT.match(text, pos).end()  # type: ignore[union-attr]  # matches the empty string at least
        statements.append(text[pos:end])
        if end >= len(text):
            break
        pos = end + 1  # past the ;
    return [s.strip() for s in statements if s.strip()]


class Registry:
    """All commands by name and alias."""

    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}
        self._names: dict[str, Command] = {}

    def command(
        self,
        name: str,
        summary: str,
        *,
        help: str = "",
        args: Sequence[Arg] = (),
        aliases: Sequence[str] = (),
        category: str = "general",
        record: bool = True,
        check: LineCheck | None = None,
        nested: Nesting | None = None,
        judge: Judge | None = None,
    ) -> Callable[[Handler], Handler]:
        """Decorator: declare a command and register its handler."""

        def register(handler: Handler) -> Handler:
            self.add(Command(name, handler, summary, help.strip(), tuple(args), tuple(aliases), category, record,
                             check, nested, judge))
            return handler

        return register

    def add(self, command: Command) -> None:
        for word in (command.name, *command.aliases):
            if word in self._names:
                raise ValueError(f"command name {word!r} declared twice")
            self._names[word] = command
        self._commands[command.name] = command

    def __iter__(self) -> Iterator[Command]:
        return iter(self._commands.values())

    def names(self) -> list[str]:
        """Every name and alias, for completion."""
        return sorted(self._names)

    def find(self, word: str) -> Command | None:
        return self._names.get(word) or self._names.get(word.lower())

    def get(self, word: str) -> Command:
        command = self.find(word)
        if command is None:
            close = difflib.get_close_matches(word.lower(), self._names, n=3, cutoff=0.6)
            hint = f"did you mean {' or '.join(close)}?" if close else "type 'help' for the list of commands"
            raise UsageError(f"unknown command {excerpt(word)}", hint)
        return command

    def parse(self, line: str) -> Invocation:
        """The line bound to its command; a UsageError says what is wrong and, where a word is to
        blame, at which column."""
        spans = split_spans(line)
        if not spans:
            raise UsageError("empty command", "type 'help' for the list of commands")
        try:
            return bind(self.get(spans[0][0]), [word for word, _column in spans[1:]])
        except UsageError as error:
            if not error.column:
                blamed = [column for word, column in spans if error.word is not None and error.word in word]
                error.column = blamed[0] if blamed else spans[0][1]
            raise


def bind(command: Command, words: list[str]) -> Invocation:
    """Bind words to the command's arguments and convert them."""
    raw: dict[str, list[str]] = {}
    positional_words: list[str] = []
    only_positionals = False
    index = 0
    while index < len(words):
        word = words[index]
        index += 1
        if not only_positionals and word == "--":
            only_positionals = True
            continue
        if not only_positionals and word.startswith("--") and len(word) > 2:
            spelling, _, inline = word.partition("=")
            arg = command.option(spelling)
            if arg is None:
                known = ", ".join(a.option or "" for a in command.options) or "none"
                raise _usage(command, f"unknown option {excerpt(spelling)} (options: {known})", word)
            if arg.flag:
                raw[arg.name] = []
            elif inline or "=" in word:
                raw[arg.name] = [inline]
            elif index < len(words):
                raw[arg.name] = [words[index]]
                index += 1
            else:
                raise _usage(command, f"option {spelling} needs a value", word)
            continue
        positional_words.append(word)

    positionals = command.positionals
    cursor = 0
    for arg in positionals:
        if arg.many:
            taken = positional_words[cursor:]
            cursor = len(positional_words)
        elif cursor < len(positional_words):
            taken = [positional_words[cursor]]
            cursor += 1
        else:
            taken = []
        if taken:
            raw[arg.name] = taken
        elif arg.required:
            raise _usage(command, f"missing {arg.label}")
    if cursor < len(positional_words):
        raise _usage(command, f"unexpected argument {excerpt(positional_words[cursor])}", positional_words[cursor])

    values: dict[str, Any] = {}
    for arg in command.args:
        if arg.name not in raw:
            values[arg.name] = [] if arg.many else (False if arg.flag else arg.default)
        elif arg.flag:
            values[arg.name] = True
        else:
            converted = [_convert(command, arg, text) for text in raw[arg.name]]
            values[arg.name] = converted if arg.many else converted[0]
    return Invocation(command, SimpleNamespace(**values), raw)


def _convert(command: Command, arg: Arg, text: str) -> Any:
    try:
        return arg.type(text)
    except UsageError as error:
        error.word = error.word or text
        raise
    except ValueError as exc:
        raise _usage(command, f"{arg.label}: {exc}", text) from None


def _usage(command: Command, message: str, word: str | None = None) -> UsageError:
    error = UsageError(f"{command.name}: {message}", f"usage: {command.usage()}")
    error.word = word
    return error


REGISTRY = Registry()
command = REGISTRY.command
