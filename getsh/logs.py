"""Logging set-up for DCMTK's levels (-q -v -d -ll) and -lc (a Python logging config file).

getsh decodes protocol failures itself, so pynetdicom's own messages reach stderr only at
info level and below; at warn and above they would repeat our messages in rawer words.

pydicom says each value it finds wrong twice, as a ``pydicom`` log record and as a
``warnings.warn`` (with its source path): dozens of lines for one odd study. Both are taken here
(``VALUE_WARNINGS``) and the shell shows one line per get, or per command; each record reaches
stderr only at info level and below.
"""

from __future__ import annotations

import copy
import logging
import logging.config
import threading
import warnings
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


PYDICOM_ADVICE = " Please see <"  # pydicom's link to the VR table, after each message about a value
SHOWN_KINDS = 3  # distinct messages named in the one line


class ValueWarnings(logging.Handler):
    """pydicom's warnings, counted until the shell takes them: from any thread (a retrieve's
    worker, parallel associations), so one process-wide collector rather than a
    ``warnings.catch_warnings`` around the get, which is not thread-safe."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counting = threading.Lock()  # take() runs on the shell's thread, emit() on any
        self.count = 0
        self.kinds: dict[str, int] = {}
        self.recent = threading.local()  # the message this thread just logged: its warnings.warn twin
        self.detailed = False  # each record is shown too (log level info or below)

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        self.recent.message = message
        words = message.split(PYDICOM_ADVICE)[0].strip()
        with self.counting:
            self.count += 1
            self.kinds[words] = self.kinds.get(words, 0) + 1

    def take(self) -> tuple[int, list[str]]:
        """How many warnings came since the last take, and their distinct messages in order."""
        with self.counting:
            count, kinds = self.count, list(self.kinds)
            self.count, self.kinds = 0, {}
        return count, kinds

    def summary(self) -> str:
        """``3 values did not conform (7 warnings): m1; m2; m3``, or '' when pydicom said nothing.

        A value is a distinct message (pydicom names the value in it); pydicom may warn about one
        value several times, as it decodes it again, and about the same value in many objects."""
        count, kinds = self.take()
        if not count:
            return ""
        named = "; ".join(shorten(k.rstrip(".")) for k in kinds[:SHOWN_KINDS])
        more = f"; {len(kinds) - SHOWN_KINDS} more" if len(kinds) > SHOWN_KINDS else ""
        values = "1 value" if len(kinds) == 1 else f"{len(kinds)} values"
        times = f" ({count} warnings)" if count != len(kinds) else ""
        where = " (above)" if self.detailed else " (set log-level info, -v, to see each)"
        return f"{values} did not conform{times}: {named}{more}{where}"

    def is_twin(self, message: Warning | str) -> bool:
        """Whether a warning is the one pydicom just logged on this thread (counted already)."""
        if getattr(self.recent, "message", None) != str(message):
            return False
        self.recent.message = None
        return True


def shorten(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


VALUE_WARNINGS = ValueWarnings()


def capture_value_warnings() -> None:
    """Route pydicom's records to ``VALUE_WARNINGS`` and drop their ``warnings.warn`` twins
    (every pydicom warning goes through ``pydicom.misc.warn_and_log``, which does both);
    other warnings are shown as before. Idempotent."""
    pydicom = logging.getLogger("pydicom")
    if VALUE_WARNINGS not in pydicom.handlers:
        pydicom.addHandler(VALUE_WARNINGS)
    if getattr(warnings.showwarning, "_getsh", False):
        return
    shown_before = warnings.showwarning

    def showwarning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                    file: Any = None, line: str | None = None) -> None:
        if not VALUE_WARNINGS.is_twin(message):
            shown_before(message, category, filename, lineno, file, line)

    showwarning._getsh = True  # type: ignore[attr-defined]
    warnings.showwarning = showwarning


def configure(level_name: str, config_file: Path | None = None) -> None:
    capture_value_warnings()
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
    pydicom = logging.getLogger("pydicom")  # counted at any level; each record shown at -v
    pydicom.setLevel(min(level, logging.WARNING))
    pydicom.propagate = VALUE_WARNINGS.detailed = level <= logging.INFO
    pynetdicom = logging.getLogger("pynetdicom")
    if level <= logging.INFO:
        pynetdicom.setLevel(max(level, logging.DEBUG))
        pynetdicom.propagate = True
    else:
        pynetdicom.setLevel(logging.ERROR)
        pynetdicom.propagate = False
