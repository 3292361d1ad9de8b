"""Logging set-up for DCMTK's levels (-q -v -d -ll) and -lc (a Python logging config file).

getsh decodes protocol failures itself, so pynetdicom's own messages reach stderr only at
info level and below; at warn and above they would repeat our messages in rawer words.
"""

from __future__ import annotations

import logging
import logging.config
from pathlib import Path

LEVELS: dict[str, int] = {
    "fatal": logging.CRITICAL,
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "trace": 5,
}
logging.addLevelName(5, "TRACE")


def configure(level_name: str, config_file: Path | None = None) -> None:
    if config_file is not None:
        logging.config.fileConfig(config_file, disable_existing_loggers=False)
        return
    level = LEVELS[level_name]
    root = logging.getLogger()
    if not any(getattr(h, "_getsh", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname).1s: %(message)s"))
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
