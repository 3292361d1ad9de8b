"""The reconciliation of the peer's sub-operation counts with getsh's (getsh/dicom/retrieve/counts.py),
and the limits of a retrieve measured (getsh/dicom/retrieve/bounds.py)."""

from __future__ import annotations

from pydicom import Dataset

from getsh.dicom.retrieve.bounds import Bounds, Watch
from getsh.dicom.retrieve.counts import GetshCounts, PeerCounts, announced_by, disagreement, missing


def test_counts_that_add_up_say_nothing() -> None:
    assert disagreement(PeerCounts(10, 0, 0, 0), GetshCounts(10, 0), announced=10) == ""
    # getsh refused 2: the peer counts them failed, and may fail more it could not send at all
    assert disagreement(PeerCounts(8, 3, 0, 0), GetshCounts(8, 2), announced=11) == ""
    # warnings are objects getsh accepted too; a cancel leaves some not started
    assert disagreement(PeerCounts(3, 0, 2, 5), GetshCounts(5, 0), announced=10) == ""
    assert missing(PeerCounts(3, 0, 2, 5), GetshCounts(5, 0)) == 0


def test_more_completed_than_arrived() -> None:
    peer, ours = PeerCounts(7, 9, 0, 0), GetshCounts(1, 0)
    assert disagreement(peer, ours) == "the peer reports 7 completed + 9 failed, getsh received 1"
    assert missing(peer, ours) == 6


def test_fewer_completed_than_accepted_and_refusals_not_counted() -> None:
    assert disagreement(PeerCounts(3, 0, 0, 14), GetshCounts(4, 0)) == (
        "the peer reports 3 completed + 0 failed + 14 not started, getsh received 4")
    assert missing(PeerCounts(3, 0, 0, 14), GetshCounts(4, 0)) == 0
    assert disagreement(PeerCounts(2, 0, 0, 0), GetshCounts(2, 1)) == (
        "the peer reports 2 completed + 0 failed, getsh received 3 and refused 1")


def test_what_was_announced_must_add_up_too() -> None:
    assert disagreement(PeerCounts(5, 0, 0, 0), GetshCounts(5, 0), announced=8) == (
        "the peer reports 5 completed + 0 failed, getsh received 5; it had announced 8 sub-operations")
    assert disagreement(PeerCounts(1, 0, 0, 0), GetshCounts(1, 0), announced=None) == ""
    assert announced_by(2, 1, 0, 7) == 10 and announced_by(2, 1, 0, None) is None


def test_peer_counts_from_a_response() -> None:
    status = Dataset()
    status.Status = 0xB000
    status.NumberOfCompletedSuboperations, status.NumberOfFailedSuboperations = 4, 1
    assert PeerCounts.of(status) == PeerCounts(4, 1, 0, 0)
    assert PeerCounts(4, 1, 2, 3).words == "4 completed + 1 failed + 2 warning + 3 not started"


def test_caps_fire_once_at_the_object_that_reaches_them() -> None:
    watch = Watch(Bounds(max_objects=3), started=0.0, objects=1)  # an earlier request of the retrieve brought 1
    assert watch.object_done(10) == ""
    assert watch.object_done(10) == "at 3 objects (max-objects 3)"
    assert watch.object_done(10) == ""  # once
    watch = Watch(Bounds(max_bytes=2048), started=0.0)
    assert watch.object_done(1024) == ""
    assert watch.object_done(1536) == "at 2.5 KB received (max-bytes 2048)"


def test_deadlines_and_the_grace() -> None:
    watch = Watch(Bounds(no_progress=2, retrieve_timeout=10, cancel_grace=1), started=100.0)
    watch.last_object = 100.0
    assert watch.due(101.0, None) == ("", "")
    assert watch.due(102.5, None) == ("cancel", "because no object completed in 2 s (no-progress-timeout 2)")
    watch.last_object = 109.5  # an object completed: progress
    assert watch.due(110.0, None) == ("cancel", "because the retrieve took 10 s (retrieve-timeout 10)")
    assert watch.due(110.5, cancelled_at=110.0) == ("", "")  # a C-CANCEL is pending: no second one
    what, why = watch.due(111.0, cancelled_at=110.0)
    assert what == "abort" and why.endswith("1 s after the C-CANCEL (cancel-grace 1)")
    assert Watch(Bounds(cancel_grace=None), started=0.0).due(1e9, cancelled_at=0.0) == ("", "")
    assert Watch(Bounds(), started=0.0).due(1e9, None) == ("", "")  # off by default: nothing is ever cut


def test_the_object_in_flight_at_a_cancel_is_named() -> None:
    """After a C-CANCEL the peer answered, one more accepted than it counts is the object in flight."""
    peer, ours = PeerCounts(146, 0, 0, 9854), GetshCounts(147, 0)
    assert disagreement(peer, ours, announced=10_000, cancelled=True) == (
        "the peer reports 146 completed + 0 failed + 9854 not started, getsh received 147: the object in flight "
        "at the C-CANCEL arrived whole and was kept; the peer does not count it")
    assert disagreement(peer, ours, announced=10_000) == (  # no cancel: no explanation to offer
        "the peer reports 146 completed + 0 failed + 9854 not started, getsh received 147")
    assert disagreement(PeerCounts(145, 0, 0, 9855), ours, cancelled=True).endswith("getsh received 147")
