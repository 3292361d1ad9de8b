"""Results of the shell's own commands (help, settings): plain data that shell/render.py draws."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from getsh.dicom.events import ContextInfo, FindDone, GetDone, GetStarted, Received
from getsh.exitstatus import ExitStatus
from getsh.nodes import Node


@dataclass(frozen=True)
class SettingRow:
    name: str
    value: str
    origin: str
    help: str
    flags: str
    renegotiate: bool


@dataclass(frozen=True)
class SettingsTable:
    rows: tuple[SettingRow, ...]


@dataclass(frozen=True)
class SettingChanged:
    name: str
    value: str
    stale: bool  # the open association no longer matches and will be renegotiated


@dataclass(frozen=True)
class NodesTable:
    """The node book: where it was read, its nodes by name, and the sections that could not be used."""

    path: str
    nodes: tuple[Node, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class ClearScreen:
    """The screen cleared (the terminal's, if the output is one)."""


@dataclass(frozen=True)
class HelpIndex:
    """(category, [(usage name, aliases, summary)])"""

    sections: tuple[tuple[str, tuple[tuple[str, str, str], ...]], ...]


@dataclass(frozen=True)
class HelpPage:
    name: str
    usage: str
    summary: str
    aliases: tuple[str, ...]
    arguments: tuple[tuple[str, str], ...]
    text: str


TABLE_ROWS = 60  # the table after a get shows the last this many; 'received' lists them all


@dataclass(frozen=True)
class ReceivedTable:
    rows: tuple[Received, ...]
    total: int
    filter: str
    raw: bool = False  # every column, every value whole (wrapped), whatever the width


@dataclass(frozen=True)
class RejectedContexts:
    """``status --rejected``: only the presentation contexts the peer refused, of ``proposed``."""

    contexts: tuple[ContextInfo, ...]
    proposed: int
    state: str  # the association's: open, stale, closed, none


@dataclass(frozen=True)
class FindTable:
    """A find's matches shown again (``results``): formatted for reading, or raw as sent."""

    done: FindDone
    raw: bool = False


@dataclass(frozen=True)
class PlainText:
    """Text for other programs (JSON): printed as it is, no styling, no wrapping."""

    text: str


@dataclass(frozen=True)
class CardSection:
    """Labelled rows under a heading ('' for none)."""

    heading: str
    rows: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Card:
    """What ``explain`` shows: a title, then sections of labelled rows (label, text)."""

    title: str
    sections: tuple[CardSection, ...]


@dataclass(frozen=True)
class ObjectView:
    """One stored object's data set, as nodes (tag, keyword, VR, value, children) for a tree."""

    number: int
    path: str
    nodes: list[Any]
    transfer_syntax: str
    happened: str = ""  # what became of it, in full ("renamed to CT.1.2…_1 (CT.1.2… exists)")


@dataclass(frozen=True)
class KeysView:
    """The identifier as nodes (see dicom.identifier.describe), with what a C-GET would warn about."""

    nodes: tuple[Any, ...]
    warnings: tuple[str, ...]
    model: str


# --- scripts: what a command did, checks on it, replays ---------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one command did, as the runner saw it: what ``expect`` and a replay judge."""

    command: str
    line: str  # its canonical form (secrets masked)
    status: ExitStatus
    error: str = ""  # the message of the error that ended it, if one did
    hint: str = ""
    items: tuple[Any, ...] = ()  # every event and result it produced

    @property
    def failed(self) -> bool:
        return self.status is not ExitStatus.SUCCESS

    @property
    def sent_get(self) -> bool:
        return any(isinstance(i, (GetStarted, GetDone)) for i in self.items)

    @property
    def gets(self) -> tuple[GetDone, ...]:
        return tuple(i for i in self.items if isinstance(i, GetDone))


@dataclass(frozen=True)
class RecordAs:
    """What a recording (and history) writes for the command instead of the line as typed: raw words for
    some of its arguments (``get 3`` is written as the unique keys row 3 stood for). Not drawn."""

    raw: dict[str, list[str]]


@dataclass(frozen=True)
class Check:
    """One ``expect``: what was expected, whether it held, and what was found."""

    expectation: str  # canonical, e.g. "received >= 10"
    held: bool
    found: str
    where: str = ""  # file:line when it ran in a replay

    @property
    def exit_status(self) -> ExitStatus:
        return ExitStatus.SUCCESS if self.held else ExitStatus.EXPECTATION


@dataclass(frozen=True)
class ScriptStep:
    """A script line about to run (or, in a dry run, that parsed): echoed as file:line: text."""

    where: str
    text: str
    dry_run: bool = False


@dataclass(frozen=True)
class ScriptProblems:
    """Lines of a script that cannot run (each error carries its file:line): nothing was run."""

    errors: tuple[Any, ...]


@dataclass(frozen=True)
class ReplayDone:
    """The end of a replay: counts, where it stopped and why, and the exit status it earns."""

    path: str
    status: ExitStatus
    commands: int  # commands in the script
    ran: int  # commands run
    failed: int  # commands that failed (and no expect right after judged them)
    expectations: int
    held: int
    expectations_failed: int
    seconds: float
    stopped_at: str = ""  # file:line of the failure that stopped it
    reason: str = ""
    dry_run: bool = False
    junit: str = ""  # where the JUnit report went

    @property
    def exit_status(self) -> ExitStatus:
        return self.status

    @property
    def not_run(self) -> int:
        """Expectations that never ran: the replay stopped before them, or --step skipped them."""
        return self.expectations - self.held - self.expectations_failed


@dataclass(frozen=True)
class HistoryView:
    """The session's commands in canonical form, numbered from the first."""

    entries: tuple[tuple[int, str], ...]
    total: int


@dataclass(frozen=True)
class ImageView:
    """``view``: received objects drawn — one picture, or a strip of thumbnails — or said in words.

    ``items`` are ``dicom.image`` Pictures, Descriptions and (in a strip) Unviewables; ``refused``
    counts the last, which make the command's exit status an error."""

    items: tuple[Any, ...]
    columns: int | None = None  # --width: the picture's (a thumbnail's) width in characters
    strip: bool = False
    refused: int = 0

    @property
    def exit_status(self) -> ExitStatus:
        return ExitStatus.ERROR if self.refused else ExitStatus.SUCCESS
