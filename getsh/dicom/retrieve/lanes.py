"""The associations of a parallel retrieve and the work they share (``parallel``; parallel.py runs them).

A ``ShareQueue`` holds the shares the plan has made (sharing.py) and those put back: the rest of a
share whose association was lost, or the two halves of one the archive failed whole (Orthanc fails
a C-GET with 0xC000 when one UID of its list is unknown). A ``Lane`` is one association and the
thread that works it: it takes a share, runs it as a C-GET (run.GetRun, the same request a serial
retrieve sends, on either receive path), passes on what the C-GET yields, and keeps the share's
final response. Every lane shares one storage (whose names are taken atomically: two lanes never
write one file) and one ``bounds.Watch`` (the caps and deadlines are the retrieve's).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pynetdicom.association import Association

from getsh.dicom.events import GetDone, GetProgress, GetStarted, LaneCount, Received
from getsh.dicom.net.reactor import reactor_parked
from getsh.dicom.retrieve.merging import failed_whole
from getsh.dicom.retrieve.receive.handover import quiet
from getsh.dicom.retrieve.run import GetRun
from getsh.dicom.retrieve.share import Share
from getsh.errors import GetshError, NetworkError

log = logging.getLogger("getsh.retrieve")


class ShareQueue:
    """Shares waiting for a lane. ``take`` waits while the plan may still make some, or while a share
    under way may yet be put back; None once there is nothing left, or the retrieve stops."""

    def __init__(self) -> None:
        self._items: deque[Share] = deque()
        self._ready = threading.Condition()
        self.planned = 0  # shares the plan put in
        self.closed = False  # the plan is complete
        self.stopped = False  # Ctrl-C or a limit: no further share goes out
        self.running = 0  # shares taken and not yet finished
        self.open = False  # the retrieve is spread: lanes may take shares (a plan of one is left to the serial get)
        self.lanes = 0  # guided (the plan is complete): over how many lanes what waits is cut (guide)
        self.smallest = 1

    def put(self, share: Share, first: bool = False) -> None:
        with self._ready:
            if first:
                self._items.appendleft(share)
            else:
                self._items.append(share)
                self.planned += 1
            self._ready.notify()

    def take(self) -> Share | None:
        with self._ready:
            while not self.stopped:
                if self._items and self.open:
                    self.running += 1
                    return self._next()
                if self.closed and not self.running and not self._items:  # waiting shares wait for spread()
                    return None
                self._ready.wait(0.5)
            return None

    def _next(self) -> Share:
        """The next share; once guided, no more than a lane's part of what waits (guide)."""
        share = self._items.popleft()
        if self.lanes:
            waiting = len(share.uids) + sum(len(item.uids) for item in self._items if not item.whole)
            share, rest = share.cut(max(self.smallest, -(-waiting // self.lanes)))
            if rest is not None:
                self._items.appendleft(rest)
        return share

    def finished(self) -> None:
        """A share taken is done with (anything left of it was put back first)."""
        with self._ready:
            self.running -= 1
            self._ready.notify_all()

    def guide(self, lanes: int, smallest: int) -> None:
        """The plan is complete: from now on a lane takes its part of what waits (what waits over the
        lanes), never less than ``smallest`` UIDs, so that the pieces shrink as the retrieve ends and
        every lane ends at about the same time (guided self-scheduling; the shares already under way
        cannot be cut). Measured at 20 ms: the lanes of 500 objects over 8 end within 0.05 s of each
        other, where two pieces a lane cut once ended 0.3 s apart."""
        with self._ready:
            self.lanes, self.smallest = max(lanes, 1), max(smallest, 1)

    def spread(self) -> None:
        """Lanes may take shares from now on."""
        with self._ready:
            self.open = True
            self._ready.notify_all()

    def close(self) -> None:
        with self._ready:
            self.closed = True
            self._ready.notify_all()

    def stop(self) -> None:
        with self._ready:
            self.stopped = True
            self._ready.notify_all()

    def left(self) -> list[Share]:
        """What was never taken (the retrieve stopped, or no lane was left to take it)."""
        with self._ready:
            return list(self._items)


@dataclass
class Lane:
    """One association of a parallel retrieve, and what it did."""

    number: int  # 1: the session's own association
    assoc: Association | None = None
    run: GetRun | None = None  # the C-GET under way (Ctrl-C and limits reach it here)
    progress: GetProgress | None = None  # the running C-GET's latest counts
    objects: int = 0
    size: int = 0
    shares: int = 0
    ended: str = ""  # why the lane stopped early
    lost: GetshError | None = None  # the error that ended its association
    message_id: int = 0  # an extra association's own Message IDs (the session's one uses the session's)
    done: bool = False
    kept: bool = False  # its association was handed back to the session for the next retrieve
    thread: threading.Thread | None = field(default=None, repr=False)

    def count(self) -> LaneCount:
        return LaneCount(self.number, self.objects, self.size, self.shares, self.ended)


@dataclass(frozen=True)
class Ended:
    """A lane's thread has ended (posted after everything it brought)."""

    lane: Lane


@dataclass(frozen=True)
class Finished:
    """A share's C-GET ended with a final response."""

    share: Share
    done: GetDone
    lane: int = 0  # the association it ran on


class LaneWork:
    """What every lane does with a share; ``post(lane, item)`` hands what a C-GET yields to the
    coordinator's thread. ``make_run(assoc, share, message_id)`` builds the C-GET."""

    def __init__(self, queue: ShareQueue, post: Callable[[Lane, object], None],
                 make_run: Callable[[Association, Share, int], GetRun], dimse_timeout: float | None,
                 next_message_id: Callable[[], int]) -> None:
        self.queue, self.post, self.make_run = queue, post, make_run
        self.dimse_timeout = dimse_timeout
        self.next_message_id = next_message_id  # the session's, for lane 1
        self.retried = 0  # shares the archive failed whole, put back in halves
        self.limit = ""  # the first limit a lane's C-GET reached ('' while none has)
        self.unfinished: list[str] = []  # whole parents an association ended under: not all retrieved
        self.notes: list[str] = []
        self._lock = threading.Lock()

    def work(self, lane: Lane) -> None:
        """Take shares until there are none left, the retrieve stops or the association is lost."""
        assert lane.assoc is not None
        while not lane.lost:
            with quiet(lane.assoc):  # eight idle associations would otherwise slow the rest down
                share = self.queue.take()
            if share is None:
                return
            try:
                self._one(lane, share)
            finally:
                self.queue.finished()

    def _one(self, lane: Lane, share: Share) -> None:
        assert lane.assoc is not None
        # An extra association's own Message IDs, kept from get to get with it: 1 … 65535, then 1 again.
        message_id = self.next_message_id() if lane.number == 1 else lane.message_id % 0xFFFF + 1
        lane.message_id = message_id
        log.debug("parallel: association %d takes share %d (%d UIDs)", lane.number, share.number, len(share.uids))
        run: GetRun | None = None
        done: GetDone | None = None
        try:
            reactor_parked(lane.assoc)  # quiet() just woke it: else pynetdicom's path may lose a first message
            run = lane.run = self.make_run(lane.assoc, share, message_id)
            if run.brakes.watch.capped or self.queue.stopped:  # a cap or Ctrl-C since it was taken: not sent
                self.queue.stop()
                return
            lane.shares += 1
            for item in run.run(self.dimse_timeout):
                if run.brakes.limit and not self.limit:
                    self.reached(run.brakes.limit)
                if isinstance(item, GetDone):
                    done = item
                elif isinstance(item, GetProgress):
                    lane.progress = item
                elif not isinstance(item, GetStarted):
                    if isinstance(item, Received):
                        lane.objects += 1
                        lane.size += item.size
                    self.post(lane, item)
        except (NetworkError, GetshError) as error:
            lane.lost = error
            self._lost(lane, share, run)
            return
        except Exception as error:  # a fault of getsh's own: the share goes back, it is not dropped
            log.debug("parallel: association %d failed", lane.number, exc_info=True)
            lane.lost = NetworkError(f"{type(error).__name__}: {error}", "run with -d for the traceback")
            if lane.assoc.is_established:
                lane.assoc.abort()
            self._lost(lane, share, run)
            return
        finally:
            lane.run, lane.progress = None, None
            if run is not None and run.brakes.limit and not self.limit:
                self.reached(run.brakes.limit)
        assert done is not None
        self._finished(lane, share, done)

    def _finished(self, lane: Lane, share: Share, done: GetDone) -> None:
        """A share the archive failed whole, without a sub-operation, is cut in two and put back (a
        list with one UID it does not know fails whole at some archives); else it is done."""
        halves = share.halves() if failed_whole(done) and not self.queue.stopped else None
        if halves is not None:
            with self._lock:
                self.retried += 1
            for half in reversed(halves):
                self.queue.put(half, first=True)
            return
        self.post(lane, Finished(share, done, lane.number))

    def _lost(self, lane: Lane, share: Share, run: GetRun | None) -> None:
        """The association ended under the share: what did not arrive goes back for the other lanes. A
        whole parent of which some arrived cannot go back (its objects would come twice): it is said
        not to be all retrieved."""
        arrived = {r.sop_instance_uid for r in run.tally.received} if run is not None else set()
        rest = share.without(arrived)
        why = lane.lost.message if lane.lost is not None else "lost"
        lane.ended = why
        if rest is not None and rest.whole and arrived:
            with self._lock:
                self.unfinished.append(f"{share.objects}: {len(arrived)} of it arrived before association "
                                       f"{lane.number} ended ({why})")
            return
        if rest is not None and not self.queue.stopped:
            self.queue.put(rest, first=True)
            self.note(f"association {lane.number} ended ({why}): the rest of its share ({rest.objects}) "
                      "went to the others")
        elif rest is not None:
            self.note(f"association {lane.number} ended ({why})")

    def reached(self, limit: str) -> None:
        """A limit one C-GET reached (its words): no lane takes another share; the coordinator cancels
        the C-GETs still running (parallel.py), and the retrieve ends at that limit."""
        with self._lock:
            self.limit = self.limit or limit
        self.queue.stop()

    def note(self, text: str) -> None:
        with self._lock:
            self.notes.append(text)


def release(lane: Lane, abort: bool = False) -> None:
    """An extra association ends with its lane: released (aborted when it is out of step)."""
    assoc = lane.assoc
    if assoc is None or lane.number == 1 or not assoc.is_established:
        return
    try:
        if abort:
            assoc.abort()
        else:
            assoc.release()
    except Exception as error:
        log.debug("releasing association %d: %s", lane.number, error)


def start(target: Callable[..., Any], name: str, *args: Any) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, name=name, daemon=True)
    thread.start()
    return thread
