"""A parallel retrieve's shares as one result: the counts summed, the objects in the plan's order,
one final status (parallel.py makes the shares' results; this is how they add up).

A share the archive failed whole down to a single UID (lanes.py cut it in halves until then) is that
object failing, not the retrieve: it is counted a failed sub-operation with the archive's status in
words, and the retrieve's status is the one a C-GET gives when some of its sub-operations failed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from getsh.dicom.events import GetDone, Received, Spread, StoreFailed
from getsh.dicom.retrieve.share import Share
from getsh.dicom.status import SUB_OPERATION_STATUSES, DimseStatus, decode
from getsh.errors import GetshError


def in_plan_order(arrived: Sequence[Received], order: dict[str, int]) -> tuple[Received, ...]:
    """What arrived, in the order the plan listed it (what it did not list last, as it came)."""
    ranked = sorted(enumerate(arrived), key=lambda x: (order.get(x[1].sop_instance_uid, math.inf), x[0]))
    return tuple(item for _, item in ranked)


def numbered(received: Sequence[Received], first_index: int) -> tuple[Received, ...]:
    """The objects numbered in the table's order from ``first_index``."""
    return tuple(replace(item, index=first_index + n) for n, item in enumerate(received))


def failed_whole(done: GetDone) -> bool:
    """The archive failed a share's C-GET as a whole: a failure that is not about sub-operations, and
    none was attempted (lanes.py cuts such a share in two and tries again)."""
    return (done.status.category == "Failure" and done.status.code not in SUB_OPERATION_STATUSES
            and not (done.completed + done.failed + done.warning) and not done.received and not done.cancelled)


def _object_failed(share: Share, done: GetDone) -> bool:
    """A single object the archive would not send: its share, cut down to it, failed whole."""
    return len(share.uids) == 1 and not share.whole and failed_whole(done)


def merged(label: str, finished: Sequence[tuple[Share, GetDone, int]], received: tuple[Received, ...],
           refused: Sequence[StoreFailed], *, stopped: bool, limit: str, spread: Spread) -> GetDone:
    """Every share's final response as one GetDone (``finished``: each share, its result, the association
    it ran on)."""
    lost = [(share, done) for share, done, _ in finished if _object_failed(share, done)]
    dones = [done for share, done, _ in finished if not _object_failed(share, done)]
    notes = tuple(f"the archive would not send {share.uids[0]}: {done.status}" for share, done in lost[:3])
    if len(lost) > 3:  # an archive that refuses lists of UIDs at all: one line, not one an object
        notes += (f"… and {len(lost) - 3} more objects the archive would not send (failed SOP instances below)",)
    arrived = {r.sop_instance_uid for r in received}
    failed_uids = {u for d in dones for u in d.failed_uids} | {share.uids[0] for share, _ in lost}
    return GetDone(
        label=label, status=_status(dones, bool(lost), stopped),
        completed=sum(d.completed for d in dones), failed=sum(d.failed for d in dones) + len(lost),
        warning=sum(d.warning for d in dones), remaining=sum(d.remaining for d in dones),
        received=received, refused=tuple(refused), failed_uids=tuple(sorted(failed_uids - arrived)),
        error_comment=next((d.error_comment for _, d, _ in finished if d.error_comment), ""),
        seconds=0.0, cancelled=stopped or any(d.cancelled for d in dones),
        cancel_reason=limit or next((d.cancel_reason for d in dones if d.cancel_reason), ""),
        limit=bool(limit), disagreement="; ".join(  # each share's own counts: say whose
            f"on association {lane}: {d.disagreement}" for _, d, lane in finished if d.disagreement),
        missing=sum(d.missing for d in dones), spread=replace(spread, notes=spread.notes + notes))


def _status(dones: Sequence[GetDone], objects_failed: bool, stopped: bool) -> DimseStatus:
    """The worst final status of the shares: a failure, else a cancel, else a warning; objects the
    archive would not send make a success a warning (0xB000), as they would in one C-GET."""
    for category in ("Failure", "Cancel", "Warning"):
        found = next((d.status for d in dones if d.status.category == category), None)
        if found is not None:
            return found
    if stopped:
        return decode(0xFE00, "get")
    if objects_failed or any(d.failed for d in dones):
        return decode(0xB000, "get")
    return dones[0].status if dones else decode(0x0000, "get")


def words(error: BaseException) -> str:
    """An error in words: a GetshError's own, else its text."""
    return error.message if isinstance(error, GetshError) else str(error)
