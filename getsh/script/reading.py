"""Reading a script: the text format, and the errors of a script that cannot run as written.

A script is what you type at the prompt, one command per line. This module knows the format:
comments, ``\\`` continuation, ``${NAME}`` substitution (``--var``, the environment) and line
numbers, so that every problem is reported with its file:line before anything runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from getsh.errors import GetshError
from getsh.exitstatus import ExitStatus

SUFFIX = ".getsh"


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

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REFERENCE = re.compile(r"\$(\$?)\{([^}]*)(\}?)")


def substitute(text: str, variables: Mapping[str, str], where: str) -> str:
    """``${NAME}`` and ``${NAME:-default}`` (the default also when NAME is empty); ``$${`` is a literal ``${``."""

    def value(match: re.Match[str]) -> str:
        escaped, body, closed = match.groups()
        if escaped:
            return "${" + body + closed
        if not closed:
            raise ScriptError(where, f"'${{{body}' has no closing '}}'", "write ${NAME}")
        name, default_given, default = body.partition(":-")
        if not _NAME.fullmatch(name):
            raise ScriptError(where, f"'${{{body}}}': {name!r} is not a variable name",
                              "names are letters, digits and _, e.g. ${PORT} or ${PORT:-11112}")
        if variables.get(name):
            return variables[name]
        if default_given:
            return default
        if name in variables:
            return ""
        raise ScriptError(where, f"variable ${{{name}}} is not set",
                          f"give it: getsh run FILE --var {name}=VALUE (or set it in the environment, "
                          f"or write ${{{name}:-default}})")

    return _REFERENCE.sub(value, text)


def parse_text(text: str, path: str, variables: Mapping[str, str]) -> tuple[list[Statement], list[ScriptError]]:
    """Statements and the problems found on the way (every one, not just the first)."""
    statements: list[Statement] = []
    problems: list[ScriptError] = []
    pieces: list[str] = []
    start, bad = 0, False
    for number, raw in enumerate(text.splitlines(), 1):
        body = raw.rstrip()
        if not pieces and not bad:
            if not body.strip() or body.lstrip().startswith("#"):
                continue
            start = number
        continued = body.endswith("\\")
        try:
            pieces.append(substitute(body[:-1] if continued else body, variables, f"{path}:{number}").strip())
        except ScriptError as problem:
            problems.append(problem)
            bad = True
        if continued:
            continue
        if not bad:
            statements.append(Statement(path, start, " ".join(p for p in pieces if p)))
        pieces, bad = [], False
    if pieces or bad:
        problems.append(ScriptError(f"{path}:{start}", "the last line ends with '\\' but no line follows",
                                    "remove the trailing backslash (quote a value that ends with one)"))
    return statements, problems


def read_script(path: str, variables: Mapping[str, str]) -> tuple[list[Statement], list[ScriptError]]:
    """Read and split a script file; raise ScriptError when it cannot be read as UTF-8 text."""
    try:
        data = Path(path).read_bytes()
    except IsADirectoryError:
        raise ScriptError(path, "cannot read the script: it is a directory", "give a script file") from None
    except OSError as exc:
        raise ScriptError(path, f"cannot read the script: {exc.strerror or exc}", "check the file name") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ScriptError(f"{path}:{line}", f"not UTF-8 text (byte 0x{data[exc.start]:02X})",
                          "save the script as UTF-8") from None
    return parse_text(text, path, variables)


def variable(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` for ``--var``, checked."""
    name, sep, value = text.partition("=")
    if not sep or not _NAME.fullmatch(name):
        raise ValueError(f"{text!r} is not NAME=VALUE (a name is letters, digits and _)")
    return name, value
