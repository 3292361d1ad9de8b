"""Argument completers shared by command declarations. UI-free: they yield Suggestions."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from getsh.completion.paths import path_words
from getsh.registry import REGISTRY, CompleteFn, Suggestion
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


def setting_value(name: str) -> CompleteFn:
    """A completer for one setting's values (used by the shortcut commands such as ``model``):
    what the setting's row completes (its choices, unless it names a completer of its own)."""

    def complete(ctx: Context, text: str, prior: dict[str, list[str]]) -> Iterator[Suggestion]:
        return (Suggestion(value, meta) for value, meta in BY_NAME[name].completions(text))

    return complete


def value_of_named_setting(ctx: Context, text: str, prior: dict[str, list[str]]) -> Iterable[Suggestion]:
    """For ``set NAME VALUE``: the values of the setting named by the previous word."""
    name = (prior.get("name") or [""])[0].lower()
    if name not in BY_NAME:
        return iter(())
    return setting_value(name)(ctx, text, prior)


def command_names(ctx: Context, text: str, prior: dict[str, list[str]]) -> Iterator[Suggestion]:
    return _matching(((c.name, c.summary) for c in REGISTRY), text)


def paths(ctx: Context, text: str, prior: dict[str, list[str]]) -> Iterator[Suggestion]:
    """Files and directories below what was typed so far (``~`` expanded)."""
    return (Suggestion(path, kind) for path, kind in path_words(text))
