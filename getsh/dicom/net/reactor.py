"""pynetdicom's reactor, let run before the next request goes out.

pynetdicom pauses an association's reactor for a request of its own by clearing a checkpoint and
waiting until the reactor says it is paused. A reactor woken by the end of the last request that has
not run yet still says so: the request goes out, then the reactor runs, takes the request's first
response off the queue as 'unexpected' and drops it. Back-to-back requests lose their first answer
that way: a parallel retrieve's plan lost one match of 36 about one plan in four, and a full ``find``
right after a ``find --limit`` (its C-CANCEL) lost its first match now and then.
"""

from __future__ import annotations

import time

from pynetdicom.association import Association


def reactor_parked(assoc: Association, limit: float = 0.05) -> None:
    """Call before a request pynetdicom sends itself (send_c_find, send_c_get, send_c_echo) right after
    another one: wait until a reactor that may run has run."""
    if not assoc._reactor_checkpoint.is_set():  # paused by someone else: it cannot run meanwhile
        return
    deadline = time.monotonic() + limit
    while assoc._is_paused and time.monotonic() < deadline:
        time.sleep(0.0002)
