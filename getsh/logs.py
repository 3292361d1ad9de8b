"""Logging set-up for DCMTK's levels (-q -v -d -ll) and -lc (a Python logging config file).

getsh decodes protocol failures itself, so pynetdicom's own messages reach stderr only at
info level and below; at warn and above they would repeat our messages in rawer words.
"""

from __future__ import annotations

import copy
import logging
import logging.config
from pathlib import Path
from typing import Any

from getsh.literal import literal

LEVELS: dict[str, int] = {
    "fatal": logging.CRITICAL,
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "trace": 5,
}
logging.addLevelName(5, "TRACE")


class LiteralFormatter(logging.Formatter):
    """``L: message``, with what a peer put in the message shown literally (``getsh.literal``):
    pynetdicom logs AE titles, UIDs and reasons as the peer sent them, and a control character or
    a line feed in one must neither drive the terminal nor forge a log line. A traceback keeps its
    line breaks."""

    def __init__(self, fmt: str = "%(levelname).1s: %(message)s") -> None:
        super().__init__(fmt)

    def formatMessage(self, record: logging.LogRecord) -> str:
        shown = copy.copy(record)  # other handlers may show the record otherwise
        shown.message = literal(record.message)
        return super().formatMessage(shown)

    def formatException(self, ei: Any) -> str:
        return literal(super().formatException(ei), newlines=True)

    def formatStack(self, stack_info: str) -> str:
        return literal(super().formatStack(stack_info), newlines=True)


def configure(level_name: str, config_file: Path | None = None) -> None:
    if config_file is not None:
        logging.config.fileConfig(config_file, disable_existing_loggers=False)
        return
    level = LEVELS[level_name]
    root = logging.getLogger()
    if not any(getattr(h, "_getsh", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(LiteralFormatter())
        handler._getsh = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("getsh").setLevel(level)
    pynetdicom = logging.getLogger("pynetdicom")
    if level <= logging.INFO:
        pynetdicom.setLevel(max(level, logging.DEBUG))
        pynetdicom.propagate = True
    else:
        pynetdicom.setLevel(logging.ERROR)
        pynetdicom.propagate = False
