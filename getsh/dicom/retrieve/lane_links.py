"""The associations of a parallel retrieve's lanes: where each comes from, and where it goes after.

Each extra lane's association is one the session kept from the last parallel retrieve
(net/spares.py) or one opened now. No lane retrieves until every one has been opened (or could not
be): an archive may set up an association under a lock that running retrieves hold — dcmqrscp's
exclusive lock on its index waits for every C-GET under way to end, so an association opened while
the others retrieve would sit idle until they are done. When its lane ends, an association still in
step goes back to the session for the next retrieve; any other is released (or aborted).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from pynetdicom.association import Association

from getsh.dicom.retrieve.lanes import Lane, release

ALL_OPEN_WAIT = 2.0  # seconds from the start the lanes wait for the slowest association to open before they retrieve
RELEASE_WAIT = 1.0  # seconds the extra associations' releases are waited for, all told


class LaneLinks:
    """One parallel retrieve's extra associations; ``kept``, ``open_more`` and ``keep`` are the session's."""

    def __init__(self, kept: Callable[[int], list[tuple[Association, int]]], open_more: Callable[[], Association],
                 keep: Callable[[Association, int], None] | None) -> None:
        self._kept, self._open_more, self._keep = kept, open_more, keep
        self.began = time.monotonic()
        self.all_open = threading.Event()  # every extra association is open, or could not be
        self._opening = 0  # extra associations still opening
        self.returned = False  # the retrieve has ended: the session may have moved on (released)
        self._lock = threading.Lock()

    def taken(self, count: int) -> list[tuple[Association, int]]:
        """Up to ``count`` associations the session kept, with their last Message IDs; the rest are to be opened."""
        kept = self._kept(count)
        self._opening = count - len(kept)
        if not self._opening:
            self.all_open.set()
        return kept

    def open(self, lane: Lane) -> None:
        """Open the lane's association (GetshError when it cannot be had); opened or not, it is counted."""
        try:
            lane.assoc = self._open_more()
        finally:
            with self._lock:
                self._opening -= 1
                if self._opening <= 0:
                    self.all_open.set()

    def wait_all_open(self) -> None:
        """Until every association has been opened (or could not be), ALL_OPEN_WAIT at most."""
        self.all_open.wait(timeout=max(0.0, self.began + ALL_OPEN_WAIT - time.monotonic()))

    def stop(self) -> None:
        """Ctrl-C, a limit or the end of the plan: a lane still waiting for the others goes on (to stop)."""
        self.all_open.set()

    def end(self, lane: Lane, aborted: bool) -> None:
        """The lane has ended: its association, in step, goes back to the session; any other ends."""
        assoc, keep = lane.assoc, self._keep
        if (lane.number > 1 and assoc is not None and keep is not None and lane.lost is None
                and not aborted and not self.returned and assoc.is_established):
            lane.kept = True
            keep(assoc, lane.message_id)
            return
        release(lane, abort=lane.lost is not None)

    def released(self, lanes: list[Lane], within: float = RELEASE_WAIT) -> None:
        """The lanes' ends, waited for a moment all told (a one-shot getsh exits next); an extra association
        neither kept nor ended by then is aborted, so none is left behind."""
        deadline = time.monotonic() + within
        for lane in lanes:
            if lane.thread is not None:
                lane.thread.join(timeout=max(0.0, deadline - time.monotonic()))
        for lane in lanes:
            if lane.number > 1 and not lane.kept and lane.assoc is not None and lane.assoc.is_established:
                release(lane, abort=True)
        self.returned = True  # a lane that ends from now on (one still opening) releases its association
