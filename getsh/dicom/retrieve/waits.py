"""How long one C-GET waited for its peer, and what several associations would likely make of it.

A C-GET is a ping-pong: after getsh has sent its C-GET-RQ or a C-STORE-RSP it has nothing to do
until the peer's next message arrives. That time is the round trip plus the archive's own work
(finding and reading the next object); it is the same whatever getsh does with the bytes, and only
several associations at once can overlap it. ``Waits`` adds it up: ``idle`` when getsh has done its
part (sent something, or taken a pending C-GET-RSP while the next C-STORE-RQ is still to come),
``heard`` when the peer's next bytes arrive, ``busy`` when they turn out to have been there already.

Both receive paths keep one: the direct path on its only thread (receive/direct_get.py), pynetdicom's
path on its DUL thread, where the bytes are sent and read (``PynetdicomWaits``: three event handlers).
A couple of clock readings an object, nothing per byte.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pynetdicom import evt
from pynetdicom.dimse_messages import C_GET_RSP

PARALLEL_CHOICES = (2, 4, 8)  # the associations a suggestion may name
WORTH_DOUBLING = 1.25  # twice the associations are suggested only if the estimate gains this much more


class Waits:
    """Seconds spent waiting for the peer (``total``); ``since``: when the current wait began, if one has."""

    __slots__ = ("since", "total")

    def __init__(self) -> None:
        self.since: float | None = None
        self.total = 0.0

    def idle(self, now: float) -> float:
        """getsh has done its part: from ``now`` it waits for the peer. Returns ``now``."""
        self.since = now
        return now

    def heard(self, now: float) -> None:
        """The peer's bytes arrived at ``now``: the wait, if one was running, ends."""
        since = self.since
        if since is not None:
            self.total += now - since
            self.since = None

    def busy(self) -> None:
        """The peer's next message was already in hand: no wait began."""
        self.since = None


class PynetdicomWaits(Waits):
    """``Waits`` on pynetdicom's receive path: its handlers run on pynetdicom's DUL thread, which
    sends our messages and reads the peer's PDUs, so they see both in order."""

    __slots__ = ()

    def handlers(self) -> list[tuple[evt.EventType, Callable[[Any], None]]]:
        return [(evt.EVT_DATA_SENT, self.on_sent), (evt.EVT_DATA_RECV, self.on_received),
                (evt.EVT_DIMSE_RECV, self.on_message)]

    def on_sent(self, event: Any) -> None:
        """EVT_DATA_SENT: the C-GET-RQ or a C-STORE-RSP went out."""
        self.idle(time.monotonic())

    def on_received(self, event: Any) -> None:
        """EVT_DATA_RECV: a PDU of the peer's arrived."""
        if self.since is not None:
            self.heard(time.monotonic())

    def on_message(self, event: Any) -> None:
        """EVT_DIMSE_RECV: after a C-GET-RSP, getsh still waits for the next C-STORE-RQ."""
        if isinstance(event.message, C_GET_RSP):
            self.idle(time.monotonic())


def estimate(seconds: float, waited: float, associations: int) -> float:
    """The time the same get would likely take over ``associations`` at once: the waits overlap,
    the rest (getsh receiving and writing) stays as it was — T − W + W / N."""
    waited = min(max(waited, 0.0), seconds)
    return seconds - waited + waited / max(associations, 1)


def suggested_associations(seconds: float, waited: float, objects: int) -> tuple[int, float]:
    """How many associations to suggest and the speed-up they would likely bring: the most of
    PARALLEL_CHOICES (no more than there are objects) whose doubling still gains WORTH_DOUBLING; the
    speed-up never more than the associations, nor the objects, allow. (0, 1.0) when none would help."""
    best, best_time = 0, seconds
    for n in PARALLEL_CHOICES:
        if n > objects:
            break
        after = estimate(seconds, waited, n)
        if after <= 0 or best_time / after < WORTH_DOUBLING:
            break
        best, best_time = n, after
    if not best or best_time <= 0:
        return 0, 1.0
    return best, min(seconds / best_time, float(best), float(objects))
