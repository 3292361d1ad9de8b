"""Results of the shell's own commands (help, settings): plain data that shell/render.py draws."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from getsh.dicom.events import Received


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


@dataclass(frozen=True)
class ReceivedTable:
    rows: tuple[Received, ...]
    total: int
    filter: str


@dataclass(frozen=True)
class ObjectView:
    """One stored object's data set, as nodes (tag, keyword, VR, value, children) for a tree."""

    number: int
    path: str
    nodes: list[Any]
    transfer_syntax: str


@dataclass(frozen=True)
class KeysView:
    """The identifier as nodes (see dicom.identifier.describe), with what a C-GET would warn about."""

    nodes: tuple[Any, ...]
    warnings: tuple[str, ...]
    model: str
