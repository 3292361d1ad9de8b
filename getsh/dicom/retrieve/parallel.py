"""One request of a retrieve spread over several associations (``parallel N`` or ``parallel auto``).

Why: each C-STORE sub-operation of a C-GET waits for its answer before the next one comes, so over a
link with a real round trip (a hospital LAN's 1–2 ms, a remote archive's 20–50 ms) a retrieve of many
objects is round trips, not bytes. Neither getscu, dcm4che nor pynetdicom spreads one retrieve; getsh
does, and keeps it one retrieve for the user: one progress display, one table in the plan's order, one
final status and exit status.

The steps: the session's association plans the request with C-FIND (sharing.py) while N - 1 extra
associations (the same proposals as the session's) are taken from those the session kept
(net/spares.py) or opened; as soon as there are two shares and every association is open the
retrieve is spread and each takes shares from the queue (lanes.py); the session's own association
joins them once the plan is complete. A plan of one share (or none), a peer without
C-FIND, or ``auto`` on a link whose round trip is short (auto_width.py) leaves the request to the serial
retrieve (``spread`` returns None). Ctrl-C cancels every association's C-GET (a second aborts them);
a limit reached on one cancels the others; an association that is refused or lost reduces N, and what
it had not received goes to the others. Extra associations still in step when the retrieve ends are
kept with the session for the next one; the others are released (or aborted).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Generator, Iterable, Iterator

from pydicom import Dataset
from pynetdicom.association import Association

from getsh.dicom.events import GetDone, GetProgress, GetStarted, Notice, Received, Spread, StoreFailed
from getsh.dicom.net.failures import unusable_for_find
from getsh.dicom.net.interrupts import CtrlC
from getsh.dicom.net.spares import end_all
from getsh.dicom.retrieve.auto_width import auto_width
from getsh.dicom.retrieve.lane_links import LaneLinks
from getsh.dicom.retrieve.lanes import Ended, Finished, Lane, LaneWork, ShareQueue, start
from getsh.dicom.retrieve.mailbox import Mailbox
from getsh.dicom.retrieve.merging import in_plan_order, merged, words
from getsh.dicom.retrieve.options import Spreading, Spun
from getsh.dicom.retrieve.run import GetRun
from getsh.dicom.retrieve.share import Share
from getsh.dicom.retrieve.sharing import NotPlannable, Planner
from getsh.errors import GetshError, NetworkError, PeerFailure

log = logging.getLogger("getsh.retrieve")

# UIDs a share lists: the first few small, so that every lane starts at once, then up to 32 (a C-GET costs
# a round trip of its own, an object at least one); once the plan is complete, each lane takes its part
# of what waits, so that all end together (lanes.ShareQueue.guide), down to SMALLEST_PIECE.
SHARE_SIZE = (8, 32)
SMALLEST_PIECE = 3
POLL = 0.1  # seconds between passes of the coordinator's loop
LANE_BUFFER_BYTES = 256 * 1024  # each association's receive buffer to begin with (a serial get's: 4 MB; it grows
# for a larger PDU): sixteen of 4 MB would be most of a parallel get's memory
PROGRESS_EVERY = 0.1


class ParallelGet:
    """One request spread over up to N associations; ``run`` yields its events and returns a ``Spun``."""

    def __init__(self, identifier: Dataset, how: Spreading) -> None:
        self.identifier, self.how = identifier, how
        self.queue = ShareQueue()
        # What the lanes post, taken in batches: an object does not wake the shell's thread, an ending does.
        self.out: Mailbox[tuple[Lane | None, object]] = Mailbox()
        self.work = LaneWork(self.queue, self._post, self._make_run,
                             how.dimse_timeout, how.next_message_id)
        self.lanes: list[Lane] = []
        self.width = how.width
        self.planner: Planner | None = None
        self.plan_error: BaseException | None = None
        self.plan_done = False
        self.plan_seconds = 0.0
        self.committed = False
        self.finished: list[Finished] = []
        self.arrived: list[Received] = []  # as they came; the table's order is the plan's (merging.py)
        self.arrived_bytes = 0
        self.refused: list[StoreFailed] = []
        self.spun = Spun()
        self._said: set[str] = set()
        self._order: dict[str, int] = {}
        self.links = LaneLinks(how.kept, how.open_more, how.keep)  # where the lanes' associations come and go

    # --- deciding --------------------------------------------------------------------------------

    def _unspread(self, why: str) -> Spun:
        return Spun(note=f"parallel {self.how.width or 'auto'}: {why}: retrieving on one association"
                    if why and self.how.width else "")

    def decide(self) -> str:
        """'' when the retrieve may be spread; else why not (shown for an explicit N, not for auto)."""
        main, model = self.how.main, self.how.model
        if unusable_for_find(main, model) is not None:
            return "the peer accepted no C-FIND context to plan with"
        if not self.width:  # parallel auto: as the link's round trip says (auto_width.py)
            self.width, why = auto_width(main, self.how.next_message_id)
            return why
        return ""

    # --- running ---------------------------------------------------------------------------------

    def run(self) -> Generator[object, None, Spun]:
        why = self.decide()
        if why:
            return self._unspread(why)
        self.planner = Planner(self.how.main, self.identifier, self.how.model, self.how.next_message_id,
                               self._share_size, self.how.receive)
        try:
            start(self._plan, "getsh-plan")
            self._open_lanes()  # while the plan's first C-FINDs go and come: their round trips overlap
            yield from self._watch()
        finally:
            if not self._over():  # left half-way (Ctrl-C landed outside the loop, or a bug): nothing goes on
                self._abandon()
        if not self.committed:
            self.queue.stop()  # the extra associations opened meanwhile go back to the session unused
            self.links.stop()
            self.links.released(self.lanes)
            return self._uncommitted()
        yield from self._shown(self._say(self.work.notes))
        self.spun.done = self._merged()
        self.links.released(self.lanes)
        return self.spun

    def _watch(self) -> Iterator[object]:
        """The coordinator's loop, on the caller's thread: what the lanes post, Ctrl-C, the limits, the
        moment the get is spread, the progress."""
        ctrl_c = CtrlC()
        last_progress = 0.0
        with ctrl_c.counting():
            while not self._over():
                for _ in range(ctrl_c.take()):
                    yield from self._shown(self._say(self._press()))
                try:
                    shown = self._pass()
                except KeyboardInterrupt:  # not on the main thread: Ctrl-C raised where the loop waits
                    shown = list(self._say(self._press()))
                yield from self._shown(shown)
                if not self.committed and self.queue.planned >= 2 and not self.queue.stopped:
                    self.committed = True
                    self.queue.spread()
                    yield from self._shown([self._started()])
                if self.committed and time.monotonic() - last_progress >= PROGRESS_EVERY:
                    last_progress = time.monotonic()
                    yield from self._shown([self._progress()])

    def _shown(self, items: Iterable[object]) -> Iterator[object]:
        """Yield each item; a Ctrl-C the runner throws in while one is drawn is a press (its line drawn
        next), and never leaves the loop with lanes still running."""
        pending = deque(items)
        while pending:
            item = pending.popleft()
            try:
                yield item
            except KeyboardInterrupt:
                pending.extendleft(reversed(list(self._say(self._press()))))

    def _abandon(self) -> None:
        """Every association mid-request is aborted: it could not serve another request."""
        self.queue.stop()
        self.links.stop()
        if self.planner is not None:
            self.planner.abort()
        for lane in self.lanes:
            if lane.run is not None:
                lane.run.cancellation.abort("when the retrieve was left unfinished")
        self.links.released(self.lanes)

    def _uncommitted(self) -> Spun:
        """The plan ended with one share or none, failed, or Ctrl-C came first: nothing was sent yet."""
        error = self.plan_error
        if self.spun.presses:
            return self.spun
        if isinstance(error, NetworkError):
            raise error
        if isinstance(error, (NotPlannable, PeerFailure)):
            return self._unspread(str(error) if isinstance(error, NotPlannable) else error.message)
        return Spun()

    def _over(self) -> bool:
        """Everything posted is taken, the plan is done, and every lane has ended. A plan of two shares
        or more that ended before this loop looked is spread all the same: the planner's thread has
        already started lane 1 on the session's association, so it must not be left to the serial get."""
        if not (self.plan_done and not len(self.out)):
            return False
        if not self.committed:
            return self.queue.planned < 2 or self.queue.stopped
        nothing_left = self.queue.stopped or (self.queue.closed and not self.queue.running and not self.queue.left())
        # A lane still opening its association has nothing of the get's: it need not be waited for.
        return all(lane.done or (lane.assoc is None and nothing_left) for lane in self.lanes)

    def _post(self, lane: Lane | None, item: object) -> None:
        self.out.put((lane, item), urgent=not isinstance(item, (Received, GetProgress)))

    def _pass(self) -> list[object]:
        """Take what the lanes posted since the last pass: the books are kept at once, and what is to
        be shown is returned (so a Ctrl-C while it is drawn cannot drop the rest of a batch)."""
        shown = [item for lane, posted in self.out.take(POLL) for item in self._take(lane, posted)]
        self._limits()
        return shown

    def _take(self, lane: Lane | None, item: object) -> list[object]:
        if isinstance(item, Finished):
            self.finished.append(item)
        elif isinstance(item, Received):
            self.arrived.append(item)
            self.arrived_bytes += item.size
            return [item]
        elif isinstance(item, StoreFailed):
            self.refused.append(item)
            return [item]
        elif isinstance(item, Notice):
            return list(self._say([item.text]))
        elif isinstance(item, Ended):
            item.lane.done = True
        else:  # trace's lines
            return [item]
        return []

    def _say(self, texts: Iterator[str] | list[str] | str) -> Iterator[Notice]:
        """Each line once: four associations cancelled say "C-CANCEL sent" once."""
        for text in [texts] if isinstance(texts, str) else texts:
            if text and text not in self._said:
                self._said.add(text)
                yield Notice(text)

    def _press(self) -> list[str]:
        """Ctrl-C: no further share goes out; the running C-GETs are cancelled (a second press aborts)."""
        self.spun.presses += 1
        self.queue.stop()
        self.links.stop()
        if self.planner is not None:
            self.planner.cancel()
        running = [lane for lane in self.lanes if lane.run is not None]
        for lane in running:
            assert lane.run is not None
            lane.run.ctrl_c.press()
        if self.spun.presses >= 2 and not self.plan_done and self.planner is not None:  # its C-CANCEL did not end it
            self.planner.abort()
            self.spun.lost_main = True
        if self.spun.presses == 1 and running:
            return [f"C-CANCEL sent on {len(running)} association{'s' * (len(running) != 1)}: waiting for their "
                    "final responses (Ctrl-C again aborts them)"]
        return []

    def _limits(self) -> None:
        """A limit one C-GET reached (a cap, the deadline) ends the others too."""
        if self.spun.limit:
            return
        reached = self.work.limit or next((lane.run.brakes.limit for lane in self.lanes
                                           if lane.run is not None and lane.run.brakes.limit), "")
        if not reached:
            return
        self.spun.limit = reached
        self.queue.stop()
        self.links.stop()
        if self.planner is not None:
            self.planner.cancel()
        for lane in self.lanes:
            if lane.run is not None and not lane.run.brakes.limit:
                lane.run.brakes.cancel_for(reached)

    # --- the plan and the lanes --------------------------------------------------------------------

    def _share_size(self) -> int:
        small, large = SHARE_SIZE
        return small if self.queue.planned < max(self.width, 2) else large

    def _plan(self) -> None:
        """The planner's thread: shares into the queue; then, once spread, lane 1 on the same association."""
        assert self.planner is not None
        began = time.monotonic()
        lane = Lane(1, self.how.main)
        joins = False
        try:
            for share in self.planner.shares():
                for uid in share.uids:
                    self._order.setdefault(uid, len(self._order))
                self.queue.put(share)
        except BaseException as error:  # handed to the coordinator, which decides
            self.plan_error = error
        finally:  # whatever happens here, the coordinator learns that the plan is over
            try:
                self.plan_seconds = time.monotonic() - began
                spread = self.queue.planned >= 2
                if self.plan_error is not None and spread:
                    self.work.note(f"the plan failed after {self.queue.planned} shares: {words(self.plan_error)}")
                joins = spread and not self.queue.stopped and self.how.main.is_established
                working = sum(1 for other in self.lanes if not other.ended) + joins  # not those refused
                self.queue.guide(max(working, 1), SMALLEST_PIECE)
                lane.done = not joins  # it planned: the summary lists it, with whatever it then took
                if spread:
                    self.lanes.append(lane)  # before the plan is done: the coordinator waits for the lanes it lists
            finally:
                self.queue.close()
                self.plan_done = True
        if joins:
            self._lane(lane)

    def _open_lanes(self) -> None:
        """N - 1 more associations: those the session kept from the last parallel retrieve, the rest
        opened at once (lane 1, the session's, joins after the plan); they take shares only once the
        retrieve is spread, and only once every one has been opened (lane_links.py)."""
        kept = self.links.taken(self.width - 1)
        if kept:
            log.debug("parallel: %d associations kept from before", len(kept))
        try:
            for number in range(2, self.width + 1):
                lane = Lane(number)
                if kept:
                    lane.assoc, lane.message_id = kept.pop(0)
                self.lanes.append(lane)
                lane.thread = start(self._lane, f"getsh-lane-{lane.number}", lane)
        finally:  # Ctrl-C before every lane started: a kept association no lane took is released (1 s at most)
            end_all([assoc for assoc, _ in kept])

    def _lane(self, lane: Lane) -> None:
        try:
            if lane.assoc is None:
                began = time.monotonic()
                try:
                    self.links.open(lane)
                    log.debug("parallel: association %d opened in %.3f s", lane.number, time.monotonic() - began)
                except GetshError as error:
                    lane.ended = error.message
                    self.work.note(f"association {lane.number} could not be opened ({error.message}): "
                                   "retrieving on the others")
                    return
            self.links.wait_all_open()
            if not self.queue.stopped:
                self.work.work(lane)
        finally:
            # Ended, then kept or released: the get does not wait. dcmqrscp sometimes leaves the A-RELEASE-RQ of
            # an association just opened unanswered for the whole ACSE timeout (max-objects stopped the get: 30 s).
            self._post(lane, Ended(lane))
            self.links.end(lane, aborted=self.spun.presses >= 2)

    def _make_run(self, assoc: Association, share: Share, message_id: int) -> GetRun:
        return self.how.make_run(assoc, share.identifier(self.how.model), message_id)

    # --- what the user sees ----------------------------------------------------------------------

    def _started(self) -> GetStarted:
        level = str(self.identifier.get("QueryRetrieveLevel", ""))
        keys = tuple((e.keyword or str(e.tag), "" if e.value is None else str(e.value)) for e in self.identifier
                     if e.keyword != "QueryRetrieveLevel")
        return GetStarted(self.how.label, self.how.model, level, keys)

    def _progress(self) -> GetProgress:
        """The counts of every share so far, finished and running, as one."""
        counts = [(f.done.completed, f.done.failed, f.done.warning) for f in self.finished]
        counts += [(p.completed, p.failed, p.warning) for p in (lane.progress for lane in self.lanes) if p is not None]
        completed, failed, warning = (sum(c[i] for c in counts) for i in range(3))
        completed = max(completed, len(self.arrived))
        remaining = None
        if self.plan_done and self.planner is not None:
            remaining = max(0, self.planner.listed - completed - failed - warning)
        return GetProgress(remaining, completed, failed, warning, self.arrived_bytes)

    def _merged(self) -> GetDone:
        """Every share's final response as one (merging.py), with how the retrieve was spread."""
        planner = self.planner
        assert planner is not None
        received = self.spun.received = in_plan_order(self.arrived, self._order)
        stopped = bool(self.spun.presses or self.spun.limit)
        incomplete = f"the plan failed half-way ({words(self.plan_error)})" if self.plan_error and not stopped else ""
        left = self.queue.left()
        if left and not stopped:
            incomplete = incomplete or f"{len(left)} shares were left when no association was left to take them"
        incomplete = incomplete or "; ".join(self.work.unfinished)
        spread = Spread(tuple(lane.count() for lane in sorted(self.lanes, key=lambda x: x.number)),
                        sum(lane.shares for lane in self.lanes), planner.listed, planner.target,
                        self.plan_seconds, tuple(planner.notes) + self._retried(), incomplete, planner.queries > 0)
        self.spun.lost_main |= any(lane.number == 1 and lane.lost is not None for lane in self.lanes)
        return merged(self.how.label, [(f.share, f.done, f.lane) for f in self.finished], received, self.refused,
                      stopped=stopped, limit=self.spun.limit, spread=spread)

    def _retried(self) -> tuple[str, ...]:
        count = self.work.retried
        if not count:
            return ()
        return (f"the archive failed {count} share{'s' * (count != 1)} whole: retried in smaller ones",)
