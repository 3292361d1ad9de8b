"""A parallel retrieve's shares and queue (retrieve/sharing.py, retrieve/lanes.py), without a peer:
the C-GET identifier a share sends, how it is cut, and the queue's rules (lanes wait until the get is
spread, a share under way may still come back, a stop ends every wait)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from pydicom import Dataset

from getsh.dicom.retrieve import sharing
from getsh.dicom.retrieve.lanes import ShareQueue
from getsh.dicom.retrieve.share import Share
from getsh.dicom.retrieve.sharing import NotPlannable, Planner
from tests.unit.test_direct_receive import FakePath

KEYS = (("StudyInstanceUID", "1.2.3"), ("SeriesInstanceUID", "1.2.3.4"))


def share(n: int, count: int) -> Share:
    return Share(n, "IMAGE", KEYS, tuple(f"1.2.3.4.{n}.{i}" for i in range(count)))


def test_a_share_asks_for_its_uids_under_single_unique_keys_above() -> None:
    ds = share(1, 3).identifier("study")
    assert ds.QueryRetrieveLevel == "IMAGE"
    assert ds.StudyInstanceUID == "1.2.3" and ds.SeriesInstanceUID == "1.2.3.4"
    assert list(ds.SOPInstanceUID) == ["1.2.3.4.1.0", "1.2.3.4.1.1", "1.2.3.4.1.2"]
    one = share(2, 1).identifier("study")
    assert one.SOPInstanceUID == "1.2.3.4.2.0"  # one UID: a plain value, not a list of one
    whole = Share(3, "SERIES", (("StudyInstanceUID", "1.2.3"),), ("1.2.3.9",), whole=True).identifier("study")
    assert whole.QueryRetrieveLevel == "SERIES" and whole.SeriesInstanceUID == "1.2.3.9"
    assert "SOPInstanceUID" not in whole


def test_cutting_keeps_every_uid_once_and_in_order() -> None:
    big = share(1, 10)
    halves = big.halves()
    assert halves is not None and halves[0].uids + halves[1].uids == big.uids
    head, rest = big.cut(4)
    assert rest is not None and head.uids + rest.uids == big.uids and len(head.uids) == 4
    assert big.cut(10) == (big, None)
    whole = Share(3, "SERIES", KEYS, ("1.2.3.9",), whole=True)
    assert whole.cut(1) == (whole, None)
    assert share(1, 1).halves() is None  # a single UID cannot be cut
    assert big.without(set(big.uids[:7])) == Share(1, "IMAGE", KEYS, big.uids[7:])
    assert big.without(set(big.uids)) is None


def test_the_queue_waits_until_the_get_is_spread_and_for_shares_under_way() -> None:
    queue = ShareQueue()
    queue.put(share(1, 2))
    taken: list[Share | None] = []
    taker = threading.Thread(target=lambda: taken.append(queue.take()))
    taker.start()
    time.sleep(0.1)
    assert not taken, "a lane took a share before the get was spread (a plan of one is the serial get's)"
    queue.spread()
    taker.join(2)
    assert taken == [share(1, 2)]
    # The plan is complete but a share is under way: a lane waits, for it may come back (its association lost).
    queue.close()
    waiter = threading.Thread(target=lambda: taken.append(queue.take()))
    waiter.start()
    time.sleep(0.1)
    assert len(taken) == 1
    queue.put(share(1, 1), first=True)  # the rest of the lost share
    queue.finished()
    waiter.join(2)
    assert taken[-1] == share(1, 1)
    queue.finished()
    assert queue.take() is None  # nothing waits, nothing under way: the lanes end


def test_guided_pieces_shrink_as_the_retrieve_ends_and_stop_ends_every_wait() -> None:
    queue = ShareQueue()
    for n in range(3):
        queue.put(share(n, 32))
    queue.spread()
    queue.close()  # the plan is complete
    queue.guide(lanes=8, smallest=3)
    taken = []
    while (piece := queue.take()) is not None:
        taken.append(piece)
        queue.finished()
    sizes = [len(p.uids) for p in taken]
    assert sizes[:3] == [12, 11, 9]  # 96 waiting over 8 lanes, then 84, then 73 (a share's rest is taken whole)
    assert max(sizes) == 12 and sizes[-2:] == [3, 3]  # smaller and smaller, down to the smallest
    assert sum((p.uids for p in taken), ()) == sum((share(n, 32).uids for n in range(3)), ())  # each UID once, in order
    queue = ShareQueue()
    queue.put(share(0, 32))
    queue.spread()
    stopper = threading.Timer(0.1, queue.stop)
    stopper.start()
    assert queue.take() is not None
    queue.stop()
    assert queue.take() is None  # stopped: nothing more goes out, however much waits


class _Flaky(Planner):
    """A planner whose C-FIND loses a response the first ``losses`` times (as pynetdicom's reactor
    can take one off the queue)."""

    def __init__(self, losses: int, uids: list[str]) -> None:
        identifier = Dataset()
        identifier.QueryRetrieveLevel = "SERIES"
        identifier.StudyInstanceUID = "1.2.3"
        identifier.SeriesInstanceUID = "1.2.3.4"
        super().__init__(object(), identifier, "study", lambda: 1, lambda: 100)  # type: ignore[arg-type]
        self.losses, self.uids, self.asked = losses, uids, 0

    def _matches(self, query: Dataset) -> Iterator[Dataset]:
        self.asked += 1
        lose = self.asked <= self.losses
        for uid in self.uids[1:] if lose else self.uids:
            match = Dataset()
            match.SOPInstanceUID = uid
            yield match
        if lose:
            raise sharing._Missed  # the signal _matches gives when a response went missing


def test_a_plan_whose_c_find_lost_a_response_asks_again_and_lists_every_instance_once() -> None:
    uids = [f"1.2.3.4.{i}" for i in range(5)]
    planner = _Flaky(1, uids)
    shares = list(planner.shares())
    assert planner.asked == 2
    assert sorted(u for s in shares for u in s.uids) == sorted(uids)  # all of them, none twice
    # Lost three times: the series cannot be listed, and nothing of it went out yet: it is retrieved
    # whole, as one share, and the plan says so.
    flaky = _Flaky(3, uids)
    whole = list(flaky.shares())
    assert [(s.level, s.whole, s.uids) for s in whole] == [("SERIES", True, ("1.2.3.4",))]
    assert any("could not be listed" in note and "retrieved whole" in note for note in flaky.notes), flaky.notes
    with pytest.raises(NotPlannable, match="three times"):
        list(_Flaky(3, uids)._again(Dataset()))  # what it fell back from


def test_a_plan_complete_before_the_get_is_spread_still_gives_the_lanes_its_shares() -> None:
    """The plan may close the queue before the coordinator spreads the get (a fast archive): a lane
    waiting meanwhile must not take "closed, nothing under way" for "nothing left"."""
    queue = ShareQueue()
    queue.put(share(1, 2))
    queue.put(share(2, 2))
    taken: list[Share | None] = []
    taker = threading.Thread(target=lambda: taken.append(queue.take()))
    taker.start()
    queue.close()
    time.sleep(0.1)
    assert not taken, "the lane gave up before the get was spread"
    queue.spread()
    taker.join(2)
    assert taken == [share(1, 2)]


def test_a_cancel_or_abort_asked_while_the_socket_was_borrowed_reaches_the_c_find() -> None:
    """Ctrl-C lands while the plan's thread waits for pynetdicom to hand the socket over: the direct
    C-FIND it then starts is cancelled (a second Ctrl-C: stopped) at once, not left to run."""
    def planner() -> Planner:
        return Planner(None, Dataset(), "study", lambda: 1, lambda: 8)  # type: ignore[arg-type]

    cancelled, aborted, untouched = planner(), planner(), planner()
    cancelled.cancel()
    aborted.abort()
    paths = [FakePath(), FakePath(), FakePath()]
    for plan, path in zip((cancelled, aborted, untouched), paths, strict=True):
        plan._running(path)  # type: ignore[arg-type]
    assert [p.calls for p in paths] == [["cancel"], ["stop"], []]
