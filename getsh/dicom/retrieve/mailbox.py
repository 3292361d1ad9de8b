"""Events from a retrieve's worker thread to the shell's thread, handed over in batches.

Why not a plain queue: the worker produces two events per object (the stored object and the
pending C-GET-RSP), thousands a second. Waking the shell's thread for each one makes the two
threads trade the GIL per object, and the worker, which paces the peer, waits its turn each
time. Here the shell's thread wakes at most every ``interval`` seconds and takes everything that
arrived, and at once for what ends or decides the retrieve (``urgent``).
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

INTERVAL = 0.02  # seconds: 50 progress updates a second are plenty for a person


class Mailbox:
    def __init__(self, interval: float = INTERVAL) -> None:
        self.interval = interval
        self._items: deque[tuple[str, Any]] = deque()
        self._wake = threading.Event()

    def put(self, item: tuple[str, Any], *, urgent: bool = False) -> None:
        """From the worker: never blocks (deque appends are atomic)."""
        self._items.append(item)
        if urgent:
            self._wake.set()

    def take(self, timeout: float) -> list[tuple[str, Any]]:
        """Everything posted so far, after waiting up to ``timeout`` (at most ``interval``) for
        an urgent item. A Ctrl-C while waiting raises KeyboardInterrupt here and loses nothing."""
        self._wake.wait(min(timeout, self.interval))
        self._wake.clear()
        items = []
        while self._items:
            items.append(self._items.popleft())
        return items
