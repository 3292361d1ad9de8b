"""Recording a session into a script, as it goes: the header, then each command in canonical form.

A recording is the canonical form of each command as the runner dispatched it, so a replay
(replay.py) hands each line back to the runner as if typed. Secrets never reach the file. The peer
and the output directory are written as variables whose defaults are the recorded values
(``connect ${GETSH_HOST:-127.0.0.1} ${GETSH_PORT:-11112}``), so one recording checks another archive.
"""

from __future__ import annotations

import os
import shlex
import stat
from collections.abc import Sequence
from datetime import datetime
from typing import IO, TYPE_CHECKING

from getsh import __version__
from getsh.dicom.net.trace_items import TraceItem
from getsh.errors import UsageError
from getsh.literal import literal
from getsh.results import Check, Outcome
from getsh.script.reading import FORMAT_LINE
from getsh.settings import MASK, SETTINGS, secret_at

if TYPE_CHECKING:
    from pydicom import Dataset

    from getsh.dicom.net.request import Peer
    from getsh.registry import Invocation
    from getsh.settings import Settings


# What a recording writes as a variable, the recorded value its default: getsh run FILE --var GETSH_PORT=104.
# GETSH_ and the setting's name: taken from --var or the environment like every variable, and never by
# accident from one that means something else (tcsh exports HOST, container platforms PORT).
VARIABLES = {"host": "GETSH_HOST", "port": "GETSH_PORT", "aec": "GETSH_AEC", "aet": "GETSH_AET",
             "output": "GETSH_OUTPUT"}
QUOTED = ("aec", "aet", "output")  # values that may hold a space: the reference is quoted as one word


def variable(name: str, value: str) -> str:
    """``${GETSH_PORT:-104}``, ``"${GETSH_OUTPUT:-/data/out}"``: the value as its variable's default; the value
    alone when no default can hold it (a '}' ends the reference, a '"' the quotes)."""
    if not value or "}" in value or '"' in value or "\n" in value:
        return shlex.quote(value)
    reference = f"${{{VARIABLES[name]}:-{value}}}"
    return f'"{reference}"' if name in QUOTED else reference


def with_variables(invocation: Invocation) -> str | None:
    """A ``connect`` line, or one that sets aec, aet or output, with its values as variables; None for another."""
    name, args = invocation.command.name, invocation.args
    if name == "connect":
        words = [name, variable("host", str(args.host)), variable("port", str(args.port))]
        for option in ("aec", "aet"):
            if option in invocation.raw:
                words += [f"--{option}", variable(option, str(getattr(args, option)))]
        rest = [a for a in invocation.command.options if a.name in invocation.raw and a.name not in ("aec", "aet")]
        for arg in rest:  # what else the line said (--model): as it was
            words += [arg.option or "", *([] if arg.flag else [shlex.quote(str(getattr(args, arg.name)))])]
        return " ".join(words)
    setting = args.name if name == "set" else name
    if setting not in QUOTED or name not in ("set", setting) or not args.value:
        return None
    return " ".join([*["set"] * (name == "set"), setting, variable(setting, " ".join(args.value))])


def secret_words(words: Sequence[str]) -> int | None:
    """The index of the first word that names a secret setting (or one given what looks like a secret: a
    password typed where user-secret wants env:VAR or file:PATH), if any."""
    return secret_at(words)


def public_line(invocation: Invocation) -> tuple[str, bool]:
    """The canonical line with every word after a secret setting's name masked, and whether it was."""
    words = [invocation.command.name, *(w for raw in invocation.raw.values() for w in raw)]
    index = secret_words(words)
    if index is None:
        return invocation.canonical(), False
    return " ".join([*words[: index + 1], *([MASK] if index + 1 < len(words) else [])]), True


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
        """Open ``path`` ('x' new, 'w' overwrite, 'a' append) and write the header (see ``header``).
        Only a regular file is written: opening a FIFO waits for a reader, a device takes the lines away."""
        try:
            kind = stat.S_IFMT(os.stat(path).st_mode)
        except OSError:
            kind = stat.S_IFREG  # nothing there yet (or unreadable: open says why)
        if kind != stat.S_IFREG:
            what = "a directory" if kind == stat.S_IFDIR else "a named pipe (FIFO)" if kind == stat.S_IFIFO else \
                "a device or socket"
            raise UsageError(f"cannot record to {path}: it is {what}, not a file", "record FILE names a script file")
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
                self._traced(held)
                self.commands += 1
            else:
                self._commented(held, f"failed when recorded: {held.error}")
        if secret:
            self._write(f"# {line}", "# (this sets a secret: it is never recorded; set it before replaying)")
            self._traced(outcome)
        elif outcome.failed and outcome.error and not invocation.checks_previous:
            self._held_back = outcome
        elif outcome.failed and invocation.checks_previous:
            check = next((i for i in outcome.items if isinstance(i, Check)), None)
            self._commented(outcome, f"did not hold when recorded: found {check.found if check else outcome.error}")
        else:
            if outcome.failed:
                self._write(f"# when recorded, this ended with: {ending(outcome)}")
            self._write(with_variables(invocation) or line)
            self._traced(outcome)
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
        self._traced(outcome)

    def _traced(self, outcome: Outcome) -> None:
        """What ``trace`` showed while the command ran, as comments after it (a peer's strings literal:
        no line feed of theirs ends the comment)."""
        for item in outcome.items:
            if isinstance(item, TraceItem):
                plain = item.plain()
                self._write(*(f"# {literal(text)}" for text in ([plain] if isinstance(plain, str) else plain)))

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
    lines = [f"# getsh {__version__} recording, started {_now()}", FORMAT_LINE,
             "# replay: getsh run FILE (or 'source FILE' in the shell); format: docs/scripting.md",
             "# the settings in force, all of them, so the replay does not depend on its config file",
             f"# (not {own}: the replayer's own; secrets are never recorded)",
             f"# the peer and the output directory are variables, the recorded values their defaults: "
             f"{', '.join(VARIABLES.values())} (getsh run FILE --var GETSH_PORT=104)"]
    for setting in SETTINGS:
        if setting.recorded and not setting.secret:
            value = settings.show(setting.name)
            shown = variable(setting.name, value) if setting.name in QUOTED else shlex.quote(value)
            lines.append(f"set {setting.name} {shown}")
    if peer is not None:
        lines += ["# the peer", f"connect {variable('host', peer.host)} {variable('port', str(peer.port))}"]
    lines += ["# the identifier (query keys) in force", "reset-keys", *identifier_lines(identifier)]
    lines.append("# the session")
    return lines


def identifier_lines(dataset: Dataset) -> list[str]:
    """``key`` lines that rebuild ``dataset`` after ``reset-keys``."""
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
