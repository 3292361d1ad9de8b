"""One Completer over the registry: command names first, then each argument's own completer.

Nothing here knows a command by name: which completer runs is read from the declaration.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Iterable

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from getsh.context import Context
from getsh.errors import UsageError
from getsh.registry import MAX_LINE, Arg, Command, Registry, Suggestion, split_words

log = logging.getLogger("getsh.completion")


def partial_words(text: str) -> tuple[list[str], str]:
    """The finished words before the cursor and the word being typed (an open quote tolerated)."""
    finished_text, _, current = text.rpartition(" ") if not text.endswith(" ") else (text, "", "")
    for closer in ("", '"', "'"):
        try:
            return split_words(finished_text + closer), current
        except UsageError:
            continue
    return finished_text.split(), current


def locate(command: Command, words: list[str]) -> tuple[Arg | None, dict[str, list[str]]]:
    """Which argument the next word fills, and the raw words earlier arguments got."""
    prior: dict[str, list[str]] = {}
    positionals = command.positionals
    index = 0
    pending: Arg | None = None
    for word in words:
        if pending is not None:
            prior[pending.name] = [word]
            pending = None
            continue
        option = command.option(word.partition("=")[0]) if word.startswith("--") else None
        if option is not None:
            if not option.flag and "=" not in word:
                pending = option
            continue
        if index < len(positionals):
            arg = positionals[index]
            prior.setdefault(arg.name, []).append(word)
            if not arg.many:
                index += 1
    if pending is not None:
        return pending, prior
    if index < len(positionals):
        return positionals[index], prior
    return None, prior


class RegistryCompleter(Completer):
    def __init__(self, ctx: Context, registry: Registry) -> None:
        self.ctx = ctx
        self.registry = registry

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        """Completions for the text before the cursor; a failing completer offers nothing, never crashes."""
        try:
            yield from self._completions(document)
        except Exception:  # a completer bug must not take the prompt down with it
            log.debug("completion failed for %r", document.text_before_cursor, exc_info=True)

    def _completions(self, document: Document) -> Iterable[Completion]:
        if len(document.text_before_cursor) > MAX_LINE:  # the line will be refused as it is: nothing to offer
            return
        words, current = partial_words(document.text_before_cursor.lstrip())
        if not words:
            yield from self._commands(current)
            return
        command = self.registry.find(words[0])
        if command is None:
            return
        if current.startswith("--"):
            for option in command.options:
                if option.option and option.option.startswith(current):
                    yield Completion(option.option, -len(current), display_meta=option.help)
            return
        arg, prior = locate(command, words[1:])
        if arg is None or arg.complete is None:
            return
        for suggestion in arg.complete(self.ctx, current, prior):
            yield _completion(suggestion, current)

    def _commands(self, current: str) -> Iterable[Completion]:
        prefix = current.lower()
        for command in self.registry:
            for name in (command.name, *command.aliases):
                if name.startswith(prefix):
                    meta = command.summary if name == command.name else f"= {command.name}"
                    yield Completion(name, -len(current), display_meta=meta)


VALUE_WIDTH = 28  # a value offered after KEY= is shown at most this wide in the menu (middle elided)


def _completion(suggestion: Suggestion, current: str) -> Completion:
    text = suggestion.text
    if any(c.isspace() for c in text) or any(c in text for c in "'\";"):
        text = shlex.quote(text)
    return Completion(text, -len(current), display=menu_text(suggestion.text, current), display_meta=suggestion.meta)


def menu_text(text: str, current: str) -> str:
    """What the menu shows for a suggestion: after ``KEY=`` (already typed) only the value, and a long
    value cut in the middle — forty study UIDs differ in their tails, not in their common root."""
    key, sep, value = text.partition("=")
    if not sep or "=" not in current or not current.startswith(key + "="):
        return text
    if len(value) <= VALUE_WIDTH:
        return value or text
    head = (VALUE_WIDTH - 1) // 2
    return value[:head] + "…" + value[-(VALUE_WIDTH - 1 - head):]
