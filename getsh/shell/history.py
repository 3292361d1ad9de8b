"""The prompt's history file and style, shared by the shell and its deferred start (no DICOM imports)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prompt_toolkit.history import FileHistory, History, InMemoryHistory, ThreadedHistory
from prompt_toolkit.styles import Style

if TYPE_CHECKING:
    from getsh.env import Environment

STYLE = Style.from_dict({
    "prompt": "bold",
    "toolbar.ok": "fg:ansigreen",
    "toolbar.warn": "fg:ansiyellow",
    "toolbar.bad": "fg:ansired",
})


def open_history(env: Environment) -> History:
    """The persistent history file; a shell that cannot write it still runs, with memory only."""
    try:
        env.ensure_home()
        path = env.history_path
        path.touch(exist_ok=True)
        return ThreadedHistory(FileHistory(str(path)))
    except OSError:
        return InMemoryHistory()
