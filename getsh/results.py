"""Results of the shell's own commands (help, settings): plain data that shell/render.py draws."""

from __future__ import annotations

from dataclasses import dataclass


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
