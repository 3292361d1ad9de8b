"""Reading a script: the text format, and the errors of a script that cannot run as written.

A script is what you type at the prompt, one command per line. This module knows the format:
comments, ``\\`` continuation, ``${NAME}`` substitution (``--var``, the environment) and line
numbers, so that every problem is reported with its file:line before anything runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from getsh.dicom.portable import NotRegularFile, open_regular
from getsh.errors import EXCERPT, GetshError, excerpt
from getsh.exitstatus import ExitStatus
from getsh.registry import MAX_LINE

SUFFIX = ".getsh"

# The script format: a recording writes FORMAT_LINE in its header. A script without it is of format 1,
# written before 'clear' cleared the screen: there each command word of OLD_WORDS means what it meant then.
FORMAT = 2
FORMAT_LINE = f"# getsh script format {FORMAT}"
_FORMAT = re.compile(r"#\s*getsh script format\s+(\d+)\s*$")
OLD_WORDS = {"clear": "reset-keys"}  # format 1's meaning of a command word, in today's words


class ScriptError(GetshError):
    """A script that cannot run as written: unreadable, or a line that does not parse."""

    status = ExitStatus.SCRIPT

    def __init__(self, where: str, message: str, hint: str = "") -> None:
        super().__init__(message, hint)
        self.where = where  # file:line, or the file alone when no line is to blame


class LocatedError(GetshError):
    """A command's error, tagged with the script line it came from (shown as file:line: error: …)."""

    def __init__(self, where: str, error: GetshError) -> None:
        super().__init__(error.message, error.hint)
        self.where = where
        self.status = error.status


@dataclass(frozen=True)
class Statement:
    """One command of a script, continuation lines joined and variables substituted."""

    path: str
    line: int  # where it starts
    text: str
    # where each joined piece of ``text`` came from: (its offset in text, its line, its column there)
    pieces: tuple[tuple[int, int, int], ...] = ()

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    def at(self, column: int) -> str:
        """path:line:column of a column (1-based) of ``text``, on the line it came from."""
        offset = max(column, 1) - 1
        line, where = self.line, offset + 1
        for start, number, first in self.pieces:
            if start > offset:
                break
            line, where = number, first + offset - start
        return f"{self.path}:{line}:{where}"


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REFERENCE = re.compile(r"\$(\$?)\{([^}]*)(\}?)")
MAX_SCRIPT = 8 * 1024 * 1024  # bytes: a script is typed lines; a bigger file is not one


def substitute(text: str, variables: Mapping[str, str], where: str) -> str:
    """``${NAME}`` and ``${NAME:-default}`` (the default also when NAME is empty); ``$${`` is a literal ``${``.
    A problem is located at ``where``:column of its ``${``."""

    def value(match: re.Match[str]) -> str:
        escaped, body, closed = match.groups()
        if escaped:
            return "${" + body + closed
        at = f"{where}:{match.start() + 1}"
        shown = body if len(body) <= EXCERPT else body[:EXCERPT] + "…"
        if not closed:
            raise ScriptError(at, f"'${{{shown}' has no closing '}}'", "write ${NAME}")
        name, default_given, default = body.partition(":-")
        if not _NAME.fullmatch(name):
            raise ScriptError(at, f"'${{{shown}}}': {excerpt(name)} is not a variable name",
                              "names are letters, digits and _, e.g. ${GETSH_PORT} or ${GETSH_PORT:-11112}")
        if variables.get(name):
            return variables[name]
        if default_given:
            return default
        if name in variables:
            return ""
        raise ScriptError(at, f"variable ${{{name}}} is not set",
                          f"give it: getsh run FILE --var {name}=VALUE (or set it in the environment, "
                          f"or write ${{{name}:-default}})")

    return _REFERENCE.sub(value, text)


def script_format(text: str) -> int:
    """The format a script declares in a comment line before its first command (FORMAT_LINE); 1 if none."""
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            break
        found = _FORMAT.match(line)
        if found:
            return int(found.group(1))
    return 1


def in_todays_words(text: str, version: int) -> str:
    """A statement of a format-1 script with its command word in today's words (``clear`` → ``reset-keys``)."""
    if version >= FORMAT:
        return text
    word, space, rest = text.partition(" ")
    return OLD_WORDS[word] + space + rest if word in OLD_WORDS else text


def parse_text(text: str, path: str, variables: Mapping[str, str]) -> tuple[list[Statement], list[ScriptError]]:
    """The statements, or those before the first problem and that problem (path:line:column). A script
    of an older format (``script_format``) has its statements put in today's words.

    The first bad line stops the reading: a file that is not a script (a log, /etc/passwd) gets
    one line saying so, not one error per line.
    """
    version = script_format(text)
    statements: list[Statement] = []
    pieces: list[str] = []
    spans: list[tuple[int, int, int]] = []
    start, length, open_statement = 0, 0, False
    for number, raw in enumerate(text.splitlines(), 1):
        if len(raw) > MAX_LINE:
            return statements, [ScriptError(f"{path}:{number}:{MAX_LINE + 1}",
                                             f"line {number} is {len(raw):,} characters long; a line holds at most "
                                             f"{MAX_LINE:,}", "is this a script? Split the line, or check the file")]
        body = raw.rstrip()
        if not open_statement:
            if not body.strip() or body.lstrip().startswith("#"):
                continue
            start, length, open_statement = number, 0, True
        continued = body.endswith("\\")
        try:
            piece = substitute(body[:-1] if continued else body, variables, f"{path}:{number}")
        except ScriptError as problem:
            return statements, [problem]
        if piece.strip():
            offset = length + 1 if pieces else 0  # pieces are joined by one space
            spans.append((offset, number, len(piece) - len(piece.lstrip()) + 1))
            pieces.append(piece.strip())
            length = offset + len(pieces[-1])
        if continued:
            continue
        statements.append(Statement(path, start, in_todays_words(" ".join(pieces), version), tuple(spans)))
        pieces, spans, open_statement = [], [], False
    if open_statement:
        return statements, [ScriptError(f"{path}:{start}", "the last line ends with '\\' but no line follows",
                                         "remove the trailing backslash (quote a value that ends with one)")]
    return statements, []


def read_script(path: str, variables: Mapping[str, str]) -> tuple[list[Statement], list[ScriptError]]:
    """Read and split a script file; raise ScriptError when it cannot be read as UTF-8 text.

    Only a regular file is read (a FIFO or a terminal would block the replay for ever), and only
    up to MAX_SCRIPT bytes.
    """
    try:
        data = open_regular(path, MAX_SCRIPT)
    except NotRegularFile as exc:
        raise ScriptError(path, f"cannot read the script: {exc.strerror}", "give a script file") from None
    except OSError as exc:
        raise ScriptError(path, f"cannot read the script: {exc.strerror or exc}", "check the file name") from None
    if len(data) > MAX_SCRIPT:
        raise ScriptError(path, f"cannot read the script: it is over {MAX_SCRIPT // 2**20} MiB",
                          "is this a script? give a script file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ScriptError(f"{path}:{line}:{column}", f"not UTF-8 text (byte 0x{data[exc.start]:02X})",
                          "save the script as UTF-8") from None
    return parse_text(text, path, variables)


def variable(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` for ``--var``, checked."""
    name, sep, value = text.partition("=")
    if not sep or not _NAME.fullmatch(name):
        raise ValueError(f"{text!r} is not NAME=VALUE (a name is letters, digits and _)")
    return name, value
