"""Files and directories below a path being typed: the one path completer.

It imports nothing of getsh, so the settings table (read at start-up) can name it as the
``output`` setting's completer and the command declarations can wrap it for FILE arguments.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path


def path_words(text: str, directories_only: bool = False) -> Iterator[tuple[str, str]]:
    """(path, file | directory) below what was typed so far (``~`` expanded, hidden entries on a typed dot)."""
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
        yield shown_folder + entry.name + (os.sep if is_dir else ""), "directory" if is_dir else "file"


def directory_words(text: str) -> Iterator[tuple[str, str]]:
    """Directories only (an output directory)."""
    return path_words(text, directories_only=True)
