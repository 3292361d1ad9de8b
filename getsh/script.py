"""Scripts: reading them, recording a session into one, and the JUnit report of a replay.

A script is what you type at the prompt, one command per line, so a recording is the
canonical form of each command as the runner dispatched it, and a replay hands each line
back to the runner (see replay.py). This module knows the text format (comments, ``\\``
continuation, ``${NAME}`` substitution, line numbers) and what a session remembers for
scripts: the active recording and what the last command and the last get did.
"""

from __future__ import annotations

import re
import shlex
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

from getsh import __version__
from getsh.errors import GetshError, UsageError
from getsh.exitstatus import ExitStatus
from getsh.results import Check, Outcome
from getsh.settings import BY_NAME, MASK, SETTINGS

if TYPE_CHECKING:
    from pydicom import Dataset

    from getsh.dicom.net.request import Peer
    from getsh.registry import Invocation
    from getsh.settings import Settings

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


# --- reading -----------------------------------------------------------------------------------

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


# --- what a session remembers for scripts -----------------------------------------------------


def secret_words(words: Sequence[str]) -> int | None:
    """The index of the first word that names a secret setting, if any."""
    return next((i for i, w in enumerate(words) if w.lower() in BY_NAME and BY_NAME[w.lower()].secret), None)


def public_line(invocation: Invocation) -> tuple[str, bool]:
    """The canonical line with every word after a secret setting's name masked, and whether it was."""
    words = [invocation.command.name, *(w for raw in invocation.raw.values() for w in raw)]
    index = secret_words(words)
    if index is None:
        return invocation.canonical(), False
    return " ".join([*words[: index + 1], *([MASK] if index + 1 < len(words) else [])]), True


@dataclass(frozen=True)
class Frame:
    """A script being replayed, as the session sees it: which file (a script may not source itself),
    and the variables its lines were given (a ``source`` line inside it passes them on)."""

    path: str
    variables: Mapping[str, str]


@dataclass
class ScriptState:
    """The active recording, what ``expect`` looks at, and the scripts being replayed."""

    recording: Recording | None = None
    last: Outcome | None = None  # the last recorded command other than expect: what 'expect error' judges
    last_get: Outcome | None = None  # the last command that sent a C-GET
    replaying: list[Frame] = field(default_factory=list)  # the scripts being replayed, innermost last

    def after(self, invocation: Invocation, outcome: Outcome) -> str | None:
        """Note what a command did (the runner calls this for every one); a warning to show, if any."""
        if outcome.sent_get:
            self.last_get = outcome
        if not invocation.command.record:
            return None  # a command that only looks is neither replayed nor judged
        if not invocation.checks_previous:
            self.last = outcome
        if self.recording is None:
            return None
        try:
            self.recording.add(invocation, outcome)
        except OSError as exc:
            broken, self.recording = self.recording, None
            return f"warning: recording to {broken.path} stopped: cannot write it: {exc.strerror or exc}"
        return None


class Recording:
    """A script being written as the session goes: header, then each command as it runs.

    A command that ended with an error is written commented out, with the error, so the
    replay follows the path that worked; when the next line is an ``expect error`` or
    ``expect status`` that held, it is written as it ran: the script checks that failure.
    A command that ran to completion is written even when the peer answered with a
    warning or failure status, with a comment saying so. Each line is flushed as written.
    """

    def __init__(self, path: str, stream: IO[str]) -> None:
        self.path = path
        self.stream = stream
        self.commands = 0
        self._held_back: Outcome | None = None

    @classmethod
    def start(cls, path: str, header_lines: Sequence[str], mode: str = "x") -> Recording:
        """Open ``path`` ('x' new, 'w' overwrite, 'a' append) and write the header (see ``header``)."""
        try:
            stream = open(path, mode, encoding="utf-8", newline="\n", buffering=1)  # held open until stop
        except FileExistsError:
            raise UsageError(f"{path} exists", "record FILE --force overwrites it, --append adds to it") from None
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}", "choose a writable file") from None
        recording = cls(path, stream)
        if mode == "a" and stream.tell():
            recording._write("")
        recording._write(*header_lines)
        return recording

    def add(self, invocation: Invocation, outcome: Outcome) -> None:
        line, secret = public_line(invocation)
        held, self._held_back = self._held_back, None
        judging = invocation.judges_outcome
        if held is not None:
            if judging and not outcome.failed:
                self._write(f"# the next command fails; the expect lines after it check how ({held.error})",
                            held.line)
                self.commands += 1
            else:
                self._commented(held, f"failed when recorded: {held.error}")
        if secret:
            self._write(f"# {line}", "# (this sets a secret: it is never recorded; set it before replaying)")
        elif outcome.failed and outcome.error and not invocation.checks_previous:
            self._held_back = outcome
        elif outcome.failed and invocation.checks_previous:
            check = next((i for i in outcome.items if isinstance(i, Check)), None)
            self._commented(outcome, f"did not hold when recorded: found {check.found if check else outcome.error}")
        else:
            if outcome.failed:
                self._write(f"# when recorded, this ended with: {ending(outcome)}")
            self._write(line)
            self.commands += 1

    def stop(self) -> None:
        if self._held_back is not None:
            self._commented(self._held_back, f"failed when recorded: {self._held_back.error}")
            self._held_back = None
        try:
            self._write(f"# recording stopped {_now()}")
        finally:
            self.stream.close()

    def _commented(self, outcome: Outcome, why: str) -> None:
        self._write(f"# {why}", f"# {outcome.line}")

    def _write(self, *lines: str) -> None:
        for line in lines:
            self.stream.write(line + "\n")
        self.stream.flush()


def ending(outcome: Outcome) -> str:
    """How a command that raised no error still did not succeed: its C-GET statuses, or its exit status."""
    gets = outcome.gets
    if gets:
        return "; ".join(f"C-GET {d.status.category} (0x{d.status.code:04X}"
                         f"{': ' + d.status.words if d.status.words else ''}): {d.completed} completed, "
                         f"{d.failed} failed, {d.warning} warning" for d in gets)
    return f"exit status {int(outcome.status)} ({outcome.status.name.lower()})"


def _now() -> str:
    return datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %z")


def header(settings: Settings, peer: Peer | None, identifier: Dataset) -> list[str]:
    """Comment lines, then the settings, the peer and the identifier in force, as commands."""
    own = ", ".join(s.name for s in SETTINGS if not s.recorded)
    lines = [f"# getsh {__version__} recording, started {_now()}",
             "# replay: getsh run FILE (or 'source FILE' in the shell); format: docs/scripting.md",
             "# the settings in force, all of them, so the replay does not depend on its config file",
             f"# (not {own}: the replayer's own; secrets are never recorded)"]
    for setting in SETTINGS:
        if setting.recorded and not setting.secret:
            lines.append(f"set {setting.name} {shlex.quote(settings.show(setting.name))}")
    if peer is not None:
        lines += ["# the peer", f"connect {shlex.quote(peer.host)} {peer.port}"]
    lines += ["# the identifier (query keys) in force", "clear", *identifier_lines(identifier)]
    lines.append("# the session")
    return lines


def identifier_lines(dataset: Dataset) -> list[str]:
    """``key`` lines that rebuild ``dataset`` after ``clear``."""
    lines = [] if "QueryRetrieveLevel" in dataset else ["unkey QueryRetrieveLevel"]
    for expression in key_expressions(dataset):
        lines.append(expression if expression.startswith("#") else f"key {shlex.quote(expression)}")
    return lines


def key_expressions(dataset: Dataset, prefix: str = "") -> list[str]:
    """Each element as a ``key`` expression (sequences as paths); binary values as comments."""
    out: list[str] = []
    for elem in dataset:
        tag = int(elem.tag)
        label = prefix + (elem.keyword or f"({tag >> 16:04X},{tag & 0xFFFF:04X},{elem.VR})")
        if elem.VR == "SQ":
            if not elem.value:
                out.append(label)
            for index, item in enumerate(elem.value):
                inner = key_expressions(item, f"{label}[{index}].")
                out += inner or [f"{label}[{index}]"]
        elif isinstance(elem.value, (bytes, bytearray)):
            out.append(f"# {label} holds binary data: not recorded")
        elif elem.value is None or elem.value == "":
            out.append(label)
        else:
            values = elem.value if elem.VM > 1 else [elem.value]
            out.append(f"{label}=" + "\\".join(str(v) for v in values))
    return out


# --- the JUnit report ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One script line in the report: a command or an expectation, and how it ended."""

    where: str
    text: str
    kind: str  # command | expectation | script
    result: str  # passed | failure | error | skipped
    message: str = ""
    detail: str = ""
    seconds: float = 0.0


def junit_xml(path: str, cases: Sequence[Case], seconds: float) -> bytes:
    """A JUnit XML report: one testsuite per script, one testcase per line (command or expect).

    An expectation that did not hold is a <failure>; a command that failed, or a line that
    does not parse, an <error>; a line not run because the replay stopped, <skipped>.
    """
    counts = {kind: sum(1 for c in cases if c.result == kind) for kind in ("failure", "error", "skipped")}
    attributes = {"tests": str(len(cases)), "failures": str(counts["failure"]), "errors": str(counts["error"]),
                  "skipped": str(counts["skipped"]), "time": f"{seconds:.3f}"}
    root = ET.Element("testsuites", {"name": "getsh", **attributes})
    suite = ET.SubElement(root, "testsuite", {"name": path, **attributes,
                                              "timestamp": datetime.now().astimezone().isoformat(timespec="seconds")})
    classname = Path(path).name.removesuffix(SUFFIX)
    for case in cases:
        file, _, line = case.where.rpartition(":") if case.where.rpartition(":")[2].isdigit() else (case.where, "", "")
        element = ET.SubElement(suite, "testcase", {
            "classname": classname, "name": f"line {line or 0}: {case.text or case.message}",
            "file": file, "line": line or "0", "time": f"{case.seconds:.3f}",
        })
        if case.result in ("failure", "error"):
            child = ET.SubElement(element, case.result, {"message": case.message, "type": case.kind})
            child.text = case.detail or case.message
        elif case.result == "skipped":
            ET.SubElement(element, "skipped", {"message": case.message})
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
