"""The environment a session runs in: streams, terminal, directories.

Everything that reaches outside the process goes through this object, so tests replace
it instead of patching globals. Time is not part of it: the protocol layer measures with
``time.monotonic`` on purpose (timeouts, idle times and rates must follow the real clock).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from getsh.shell.shown import literal_console

HOME_VARIABLE = "GETSH_HOME"


def default_home() -> Path:
    """``$GETSH_HOME``, else the platform's per-user data directory for getsh."""
    override = os.environ.get(HOME_VARIABLE)
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("getsh", appauthor=False))


@dataclass
class Environment:
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    home: Path = field(default_factory=default_home)
    width: int | None = None  # None: the terminal's width, else $COLUMNS, else 120

    def __post_init__(self) -> None:
        self.stdin_isatty = _isatty(self.stdin)
        self.stdout_isatty = _isatty(self.stdout)
        width = self.width or (None if self.stdout_isatty else _columns())
        self.console = literal_console(file=self.stdout, width=width, soft_wrap=False)
        self.err_console = literal_console(file=self.stderr, width=width, stderr=True)

    @property
    def history_path(self) -> Path:
        return self.home / "history"

    @property
    def config_path(self) -> Path:
        return self.home / "config"

    def ensure_home(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        return self.home


def _columns() -> int:
    """Output that is not a terminal is as wide as $COLUMNS says (logs, pipes), else 120."""
    try:
        return max(40, int(os.environ.get("COLUMNS", "")))
    except ValueError:
        return 120


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
