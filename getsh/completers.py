"""Argument completers shared by command declarations. UI-free: they yield Suggestions."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from getsh.registry import REGISTRY, Suggestion
from getsh.settings import BY_NAME, SETTINGS

if TYPE_CHECKING:
    from getsh.context import Context


def _matching(words: Iterable[tuple[str, str]], text: str) -> Iterator[Suggestion]:
    prefix = text.lower()
    for word, meta in words:
        if word.lower().startswith(prefix):
            yield Suggestion(word, meta)


def setting_names(ctx: Context, text: str, prior: dict[str, list[str]]) -> Iterator[Suggestion]:
    return _matching(((s.name, s.help) for s in SETTINGS), text)


def setting_value(name: str):  # type: ignore[no-untyped-def]
    """A completer for one setting's values (used by the shortcut commands such as ``model``)."""

    def complete(ctx: Context, text: str, prior: dict[str, list[str]]) -> Iterator[Suggestion]:
        setting = BY_NAME[name]
        if setting.choices:
            return _matching(((c.value, c.help) for c in setting.choices), text)
        if name == "output":
            return paths(ctx, text, prior, directories_only=True)
        if name == "accept":
            from getsh.dicom.net.sopclasses import suggestions

            return (Suggestion(word, meta) for word, meta in suggestions(text))
        return iter(())

    return complete


def value_of_named_setting(ctx: Context, text: str, prior: dict[str, list[str]]) -> Iterator[Suggestion]:
    """For ``set NAME VALUE``: the values of the setting named by the previous word."""
    name = (prior.get("name") or [""])[0].lower()
    if name not in BY_NAME:
        return iter(())
    return setting_value(name)(ctx, text, prior)


def command_names(ctx: Context, text: str, prior: dict[str, list[str]]) -> Iterator[Suggestion]:
    return _matching(((c.name, c.summary) for c in REGISTRY), text)


def paths(
    ctx: Context, text: str, prior: dict[str, list[str]], directories_only: bool = False
) -> Iterator[Suggestion]:
    """Files and directories below what was typed so far (``~`` expanded)."""
    expanded = os.path.expanduser(text)
    head, stem = os.path.split(expanded)
    try:
        entries = sorted(Path(head or ".").iterdir(), key=lambda p: p.name)
    except OSError:
        return
    shown_folder = text[: len(text) - len(stem)]
    for entry in entries:
        if not entry.name.startswith(stem) or (entry.name.startswith(".") and not stem.startswith(".")):
            continue
        is_dir = entry.is_dir()
        if directories_only and not is_dir:
            continue
        yield Suggestion(shown_folder + entry.name + (os.sep if is_dir else ""), "directory" if is_dir else "file")
