"""One request of a retrieve spread over several associations (``parallel N`` or ``parallel auto``).

Why: each C-STORE sub-operation of a C-GET waits for its answer before the next one comes, so over a
link with a real round trip (a hospital LAN's 1–2 ms, a remote archive's 20–50 ms) a retrieve of many
objects is round trips, not bytes. Neither getscu, dcm4che nor pynetdicom spreads one retrieve; getsh
does, and keeps it one retrieve for the user: one progress display, one table in the plan's order, one
final status and exit status.

The steps: the session's association plans the request with C-FIND (sharing.py); as soon as there
are two shares, the retrieve is spread: extra associations (the same proposals as the session's) are
opened one per share planned, up to N, and each takes shares from the queue (lanes.py); the session's
own association joins them once the plan is complete. A plan of one share (or none), a peer without
C-FIND, or ``auto`` on a link whose round trip is under ``AUTO_RTT`` leaves the request to the serial
retrieve (``spread`` returns None). Ctrl-C cancels every association's C-GET (a second aborts them);
a limit reached on one cancels the others; an association that is refused or lost reduces N, and what
it had not received goes to the others. Extra associations are released when the retrieve ends.
"""

from __future__ import annotations

import math
import queue
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass

from pydicom import Dataset
from pynetdicom.association import Association

from getsh.dicom.events import GetDone, GetProgress, GetStarted, Notice, Received, Spread, StoreFailed
from getsh.dicom.net.failures import unusable_for_find
from getsh.dicom.net.interrupts import CtrlC
from getsh.dicom.net.opening import contexts_of
from getsh.dicom.net.presentation import VERIFICATION
from getsh.dicom.retrieve.lanes import Ended, Finished, Lane, LaneWork, ShareQueue, merged_status, release, start, words
from getsh.dicom.retrieve.receive.handover import brisk, reactor_parked
from getsh.dicom.retrieve.run import GetRun
from getsh.dicom.retrieve.sharing import NotPlannable, Planner, Share
from getsh.errors import GetshError, NetworkError, PeerFailure

AUTO_RTT = 0.001  # seconds: parallel auto spreads a retrieve only over a link slower than this
AUTO_WIDTH = ((0.010, 4), (math.inf, 8))  # parallel auto: associations by round trip (under 10 ms: 4)
SHARE_SIZE = (8, 64)  # UIDs a share lists: the first few small, so every lane starts at once; then up to 64
POLL = 0.1  # seconds between passes of the coordinator's loop
PROGRESS_EVERY = 0.1


@dataclass(frozen=True)
class Spreading:
    """What a parallel retrieve needs from the retrieve around it, as values and callables."""

    width: int  # N; 0: auto
    model: str
    label: str
    dimse_timeout: float | None
    main: Association  # the session's association, open
    open_more: Callable[[], Association]  # another association like it (NetworkError, Rejected)
    make_run: Callable[[Association, Dataset, int], GetRun]  # a C-GET of one share
    next_message_id: Callable[[], int]  # the session's


@dataclass
class Spun:
    """How a parallel retrieve ended: its merged result (None: it was left to the serial retrieve,
    ``note`` says why when that is worth saying), what arrived in the table's order, Ctrl-Cs, limit."""

    done: GetDone | None = None
    received: tuple[Received, ...] = ()
    presses: int = 0
    limit: str = ""
    note: str = ""
    lost_main: bool = False  # the session's association ended under it


class ParallelGet:
    """One request spread over up to N associations; ``run`` yields its events and returns a ``Spun``."""

    def __init__(self, identifier: Dataset, how: Spreading) -> None:
        self.identifier, self.how = identifier, how
        self.queue = ShareQueue()
        self.out: queue.Queue[tuple[Lane | None, object]] = queue.Queue()
        self.work = LaneWork(self.queue, lambda lane, item: self.out.put((lane, item)), self._make_run,
                             how.dimse_timeout, how.next_message_id)
        self.lanes: list[Lane] = []
        self.width = how.width
        self.planner: Planner | None = None
        self.plan_error: BaseException | None = None
        self.plan_done = False
        self.plan_seconds = 0.0
        self.committed = False
        self.finished: list[Finished] = []
        self.arrived: list[tuple[Lane, Received]] = []
        self.refused: list[StoreFailed] = []
        self.spun = Spun()
        self._said: set[str] = set()
        self._order: dict[str, int] = {}

    # --- deciding --------------------------------------------------------------------------------

    def _unspread(self, why: str) -> Spun:
        return Spun(note=f"parallel {self.how.width or 'auto'}: {why}: retrieving on one association"
                    if why and self.how.width else "")

    def decide(self) -> str:
        """'' when the retrieve may be spread; else why not (shown for an explicit N, not for auto)."""
        main, model = self.how.main, self.how.model
        if unusable_for_find(main, model) is not None:
            return "the peer accepted no C-FIND context to plan with"
        if self.width:
            return ""
        accepted = any(cx.abstract_syntax == VERIFICATION and cx.accepted for cx in contexts_of(main))
        if not accepted:
            return "no C-ECHO to measure the round trip with"
        rtt = self._round_trip(main)
        if rtt < AUTO_RTT:
            return f"a round trip of {rtt * 1000:.2f} ms"
        self.width = next(width for limit, width in AUTO_WIDTH if rtt < limit)
        return ""

    def _round_trip(self, main: Association) -> float:
        """The shorter of two C-ECHOs (the second only when the first was slow), pynetdicom's reader polling
        briskly (idle, it sleeps 1 ms a pass). What pynetdicom itself adds still shows: on loopback the
        shorter is 2-3 ms (dcmqrscp), 3-5 ms (the demo archive), so auto spreads there too."""
        best = math.inf
        for _ in range(2):
            reactor_parked(main)  # else a reactor woken by the last request may take the C-ECHO-RSP
            with brisk(main):
                began = time.perf_counter()
                status = main.send_c_echo(msg_id=self.how.next_message_id())
                best = min(best, time.perf_counter() - began)
            if "Status" not in status:
                raise NetworkError("C-ECHO (parallel auto's round trip): no valid response; the association was "
                                   "aborted", "the next command re-associates")
            if best < AUTO_RTT:
                break
        return best

    # --- running ---------------------------------------------------------------------------------

    def run(self) -> Generator[object, None, Spun]:
        why = self.decide()
        if why:
            return self._unspread(why)
        self.planner = Planner(self.how.main, self.identifier, self.how.model, self.how.next_message_id,
                               self._share_size)
        start(self._plan, "getsh-plan")
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
                if not self.committed and self.queue.planned >= 2:
                    self.committed = True
                    yield from self._shown([self._started()])
                if self.committed:
                    self._open_lanes()
                    if time.monotonic() - last_progress >= PROGRESS_EVERY:
                        last_progress = time.monotonic()
                        yield from self._shown([self._progress()])
        if not self.committed:
            return self._uncommitted()
        yield from self._shown(self._say(self.work.notes))
        self.spun.done = self._merged()
        return self.spun

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
        if not (self.plan_done and self.out.empty()):
            return False
        if not self.committed:
            return self.queue.planned < 2 or self.queue.stopped
        return all(lane.done for lane in self.lanes)

    def _pass(self) -> list[object]:
        """Take what the lanes posted since the last pass: the books are kept at once, and what is to
        be shown is returned (so a Ctrl-C while it is drawn cannot drop the rest of a batch)."""
        try:
            items = [self.out.get(timeout=POLL)]
        except queue.Empty:
            return []
        while len(items) < 500:
            try:
                items.append(self.out.get_nowait())
            except queue.Empty:
                break
        shown = [shown for lane, item in items for shown in self._take(lane, item)]
        self._limits()
        return shown

    def _take(self, lane: Lane | None, item: object) -> list[object]:
        if isinstance(item, Finished):
            self.finished.append(item)
        elif isinstance(item, Received):
            assert lane is not None
            self.arrived.append((lane, item))
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
        if self.planner is not None:
            self.planner.cancel()
        running = [lane for lane in self.lanes if lane.run is not None]
        for lane in running:
            assert lane.run is not None
            lane.run.ctrl_c.press()
        if self.spun.presses >= 2 and not self.plan_done:  # the plan's C-FIND did not end at the C-CANCEL
            self.how.main.abort()
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
        try:
            for share in self.planner.shares():
                for uid in share.uids:
                    self._order.setdefault(uid, len(self._order))
                self.queue.put(share)
        except BaseException as error:  # handed to the coordinator, which decides
            self.plan_error = error
        self.plan_seconds = time.monotonic() - began
        spread = self.queue.planned >= 2
        if self.plan_error is not None and spread:
            self.work.note(f"the plan failed after {self.queue.planned} shares: {words(self.plan_error)}")
        lane = Lane(1, self.how.main)
        joins = spread and not self.queue.stopped and self.how.main.is_established
        if joins:
            self.lanes.append(lane)  # before the plan is done: the coordinator waits for every lane it lists
        self.queue.close()
        self.plan_done = True
        if joins:
            self._lane(lane)

    def _open_lanes(self) -> None:
        """One more association per share planned, up to N (lane 1, the session's, joins after the plan)."""
        while (not self.queue.stopped and len([x for x in self.lanes if x.number > 1]) + 1 < self.width
               and self.queue.planned > len(self.lanes)):
            lane = Lane(len([x for x in self.lanes if x.number > 1]) + 2)
            self.lanes.append(lane)
            lane.thread = start(self._lane, f"getsh-lane-{lane.number}", lane)

    def _lane(self, lane: Lane) -> None:
        try:
            if lane.assoc is None:
                try:
                    lane.assoc = self.how.open_more()
                except GetshError as error:
                    lane.ended = error.message
                    self.work.note(f"association {lane.number} could not be opened ({error.message}): "
                                   "retrieving on the others")
                    return
            if not self.queue.stopped:
                self.work.work(lane)
        finally:
            # Ended, then released: the get does not wait. dcmqrscp sometimes leaves the A-RELEASE-RQ of an
            # association just opened unanswered for the whole ACSE timeout (max-objects stopped the get: 30 s).
            self.out.put((lane, Ended(lane)))
            release(lane, abort=lane.lost is not None)

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
        return GetProgress(remaining, completed, failed, warning, sum(r.size for _, r in self.arrived))

    def _merged(self) -> GetDone:
        """Every share's final response as one: the counts summed, the objects in the plan's order."""
        order, dones = self._order, [f.done for f in self.finished]
        unretrieved = tuple(uid for f in self.finished for uid in f.unretrieved)
        arrived = sorted(enumerate(self.arrived), key=lambda x: (order.get(x[1][1].sop_instance_uid, math.inf), x[0]))
        received = tuple(item for _, (_, item) in arrived)
        self.spun.received = received
        uids = {r.sop_instance_uid for r in received}
        status = merged_status([f.done for f in self.finished if not f.unretrieved] or dones,
                                bool(self.spun.presses or self.spun.limit), bool(unretrieved))
        planner = self.planner
        assert planner is not None
        incomplete = ""
        if self.plan_error is not None:
            incomplete = f"the plan failed half-way ({words(self.plan_error)})"
        left = self.queue.left()
        if left and not (self.spun.presses or self.spun.limit):
            incomplete = incomplete or f"{len(left)} shares were left when no association was left to take them"
        spread = Spread(tuple(lane.count() for lane in sorted(self.lanes, key=lambda x: x.number)),
                        sum(lane.shares for lane in self.lanes), planner.listed, planner.target,
                        self.plan_seconds, tuple(planner.notes) + self._retried(), incomplete, planner.queries > 0)
        self.spun.lost_main |= any(lane.number == 1 and lane.lost is not None for lane in self.lanes)
        return GetDone(
            label=self.how.label, status=status,
            completed=sum(d.completed for d in dones), failed=sum(d.failed for d in dones) + len(unretrieved),
            warning=sum(d.warning for d in dones), remaining=sum(d.remaining for d in dones),
            received=received, refused=tuple(self.refused),
            failed_uids=tuple(sorted({u for d in dones for u in d.failed_uids}.union(unretrieved) - uids)),
            error_comment=next((d.error_comment for d in dones if d.error_comment), ""),
            seconds=0.0, cancelled=any(d.cancelled for d in dones) or bool(self.spun.presses),
            cancel_reason=self.spun.limit or next((d.cancel_reason for d in dones if d.cancel_reason), ""),
            limit=bool(self.spun.limit), disagreement="; ".join(  # each share's own counts: say whose
                f"on association {f.lane}: {f.done.disagreement}" for f in self.finished if f.done.disagreement),
            missing=sum(d.missing for d in dones), spread=spread)

    def _retried(self) -> tuple[str, ...]:
        count = self.work.retried
        if not count:
            return ()
        return (f"the archive failed {count} share{'s' * (count != 1)} whole: retried in smaller ones",)
