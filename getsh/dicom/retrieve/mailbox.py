"""Messages from a retrieve's worker thread to the shell's thread, handed over in batches.

Why not a plain queue: the worker produces two messages per object (the stored object and the
pending C-GET-RSP), thousands a second. Waking the shell's thread for each one makes the two
threads trade the GIL per object, and the worker, which paces the peer, waits its turn each
time. Here the shell's thread wakes at most every ``interval`` seconds and takes everything that
arrived, and at once for what ends or decides the retrieve (``urgent``).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydicom import Dataset

INTERVAL = 0.02  # seconds: 50 progress updates a second are plenty for a person

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Event:
    """Something to show as it is: a Received, StoreFailed or GetProgress event."""

    item: object


@dataclass(frozen=True, slots=True)
class Response:
    """A C-GET-RSP as pynetdicom yields it: the status (no ``Status`` in it: no valid response
    came) and the identifier. Pending ones count progress; the first other one is the final one."""

    status: Dataset
    identifier: Dataset | None


@dataclass(frozen=True, slots=True)
class Failed:
    """The worker raised: the request failed in a way nobody decoded."""

    error: BaseException


@dataclass(frozen=True, slots=True)
class End:
    """The worker is done: nothing follows."""


Message = Event | Response | Failed | End


class Mailbox(Generic[T]):
    def __init__(self, interval: float = INTERVAL) -> None:
        self.interval = interval
        self._items: deque[T] = deque()
        self._wake = threading.Event()

    def put(self, item: T, *, urgent: bool = False) -> None:
        """From the worker: never blocks (deque appends are atomic)."""
        self._items.append(item)
        if urgent:
            self._wake.set()

    def __len__(self) -> int:
        return len(self._items)

    def take(self, timeout: float) -> list[T]:
        """Everything posted so far, after waiting up to ``timeout`` (at most ``interval``) for
        an urgent item. A Ctrl-C while waiting raises KeyboardInterrupt here and loses nothing."""
        self._wake.wait(min(timeout, self.interval))
        self._wake.clear()
        items = []
        while self._items:
            items.append(self._items.popleft())
        return items
