"""Ctrl-C while a retrieve runs, taken at a safe point of its loop.

Why: Python raises KeyboardInterrupt wherever the main thread happens to be. A retrieve's loop on the
shell's thread mostly waits for the next batch of events, and a Ctrl-C there becomes a C-CANCEL; but
one that lands between two steps of the loop (or inside the code that hands an event over) unwinds
the retrieve half-way: the association is left mid-request and must be aborted, and the user reads
"interrupted" instead of a cancelled retrieve. While the loop runs, SIGINT only counts a request; the
loop takes the count at the top of each pass (at most one mailbox interval later) and asks the one
cancel mechanism (cancellation.py).

Only on the main thread and only over Python's own SIGINT handler: anywhere else nothing changes,
and a KeyboardInterrupt is still caught where the loop waits.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class CtrlC:
    """Ctrl-C presses counted while ``counting()`` is in force, taken by ``take()``."""

    def __init__(self) -> None:
        self._presses: list[int] = []  # appended by the signal handler: a list append is atomic

    def press(self) -> None:
        """A press passed on from elsewhere (a parallel retrieve's own loop tells each of its C-GETs)."""
        self._presses.append(0)

    def take(self) -> int:
        """How many presses came since the last call."""
        count = len(self._presses)
        del self._presses[:count]  # a press that lands between these two lines stays for the next call
        return count

    @contextmanager
    def counting(self) -> Iterator[None]:
        """SIGINT counts a press instead of raising KeyboardInterrupt, inside the block."""
        if (threading.current_thread() is not threading.main_thread()
                or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
            yield
            return

        def press(signum: int, frame: FrameType | None) -> None:
            self._presses.append(signum)

        signal.signal(signal.SIGINT, press)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
