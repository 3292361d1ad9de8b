"""How a C-GET ended, in the words the shell shows: progress counts, failed UIDs, and the one-line
diagnosis when no final response came (our abort, the peer's, a timeout, an invalid message).

What it reads is kept apart from the request that fills it in: the ``Tally`` of what arrived and
the ``Ending`` (how the responses stopped, and whether anyone asked to cancel or abort)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydicom import Dataset

from getsh.dicom.events import GetDone, GetProgress, Received, SplitDone, StoreFailed
from getsh.dicom.net.failures import PeerAbort, describe_abort, no_response_within
from getsh.dicom.retrieve.counts import GetshCounts, PeerCounts, announced_by, disagreement, missing
from getsh.dicom.status import SUB_OPERATION_STATUSES, decode
from getsh.errors import NetworkError


@dataclass
class Answer:
    """What the shell's thread learnt from the worker: the final response, or why none came."""

    status: Dataset | None = None
    identifier: Dataset | None = None
    error: BaseException | None = None
    ended: bool = False  # the worker is done
    log: list[str] = field(default_factory=list)  # pynetdicom's error log meanwhile

    @property
    def final(self) -> bool:
        return self.status is not None and "Status" in self.status


@dataclass
class Tally:
    """What a request has received so far (touched by its worker thread only, but for ``announced``:
    the caller's thread, which sees the pending responses)."""

    received: list[Received] = field(default_factory=list)
    refused: list[StoreFailed] = field(default_factory=list)
    next_index: int = 1  # the session-wide number of the next object received
    announced: int | None = None  # sub-operations the pending responses announced (counts.announced_by)

    def announce(self, progress: GetProgress) -> GetProgress:
        """The first pending response that says how many sub-operations there are is kept (counts.py)."""
        if self.announced is None:
            self.announced = announced_by(progress.completed, progress.failed, progress.warning, progress.remaining)
        return progress


@dataclass
class Ending:
    """How a request ended, besides its final response. The worker fills in the first four; the
    reasons come from the cancel mechanism. Read once the worker has finished."""

    silence: float = 0.0  # how long the peer had been silent when the responses ended
    peer_abort: Any = None  # the A-ABORT / A-P-ABORT indication, if the association ended so
    abort_pdu: PeerAbort | None = None  # the A-ABORT PDU the peer sent (its source and reason), if it did
    released: bool = False  # the peer sent an A-RELEASE-RQ while the request ran
    connection_closed: bool = False
    invalid: str = ""  # what was invalid in the peer's message, when the direct path found it
    cancelled: str = ""  # why C-CANCEL-RQ was sent ('' if it was not)
    aborted: str = ""  # why we aborted, e.g. "at your request" ('' if we did not)
    limit: str = ""  # the limit (bounds.py) that had C-CANCEL sent, in the same words ('' if none)
    waited: float | None = None  # seconds spent waiting for the peer's next message (waits.py); None: not measured


def done_of(label: str, tally: Tally, ending: Ending, status: Dataset, identifier: Dataset | None,
            seconds: float, service: str = "get") -> GetDone:
    """The final C-GET-RSP or C-MOVE-RSP (``service`` move; and its identifier) as the shell shows it,
    with what was received."""
    code = int(status.Status)
    cancelled = bool(ending.cancelled) and decode(code, service).category == "Cancel"
    peer = PeerCounts.of(status)
    ours = GetshCounts(len(tally.received), len(tally.refused))
    return GetDone(
        label=label,
        status=decode(code, service),
        completed=peer.completed,
        failed=peer.failed,
        warning=peer.warning,
        remaining=peer.remaining,
        received=tuple(tally.received),
        refused=tuple(tally.refused),
        failed_uids=failed_uids(status, identifier),
        error_comment=str(status.get("ErrorComment", "") or ""),
        seconds=seconds,
        cancelled=cancelled,
        cancel_reason=ending.cancelled if cancelled else "",
        limit=cancelled and bool(ending.limit),
        disagreement=disagreement(peer, ours, announced=tally.announced, cancelled=cancelled),
        missing=missing(peer, ours),
        service=f"C-{service.upper()}",
        waited=ending.waited if service == "get" else None,  # a C-MOVE's objects come on other associations
    )


def progress_of(status: Dataset) -> GetProgress:
    remaining = status.get("NumberOfRemainingSuboperations")
    return GetProgress(
        remaining=int(remaining) if remaining is not None else None,
        completed=int(status.get("NumberOfCompletedSuboperations", 0) or 0),
        failed=int(status.get("NumberOfFailedSuboperations", 0) or 0),
        warning=int(status.get("NumberOfWarningSuboperations", 0) or 0),
    )


def failed_uids(status: Dataset, identifier: Dataset | None) -> tuple[str, ...]:
    """The Failed SOP Instance UID List, wherever the peer put it (identifier or status)."""
    for source in (identifier, status):
        if source is not None and source.get("FailedSOPInstanceUIDList"):
            value = source.FailedSOPInstanceUIDList
            return tuple(str(v) for v in ([value] if isinstance(value, str) else value) if str(v))
    return ()


def no_response(tally: Tally, ending: Ending, dimse_timeout: float | None, seconds: float,
                log: list[str], operation: str = "C-GET") -> NetworkError:
    """Why the C-GET (or C-MOVE: ``operation``) ended without a final response, in one line: our abort,
    the peer's, a timeout."""
    got = len(tally.received)
    were = "objects received before that were" if got != 1 else "object received before that was"
    kept = f"; {got} {were} kept" if got else ""
    if ending.aborted:
        both = ending.cancelled not in ("", ending.aborted)
        how = f"cancelled {ending.cancelled} and aborted {ending.aborted}," if both else f"aborted {ending.aborted}"
        return NetworkError(f"{operation} {how} after {seconds:.1f} s{kept}",
                            "the next command re-associates")
    if ending.invalid:  # what the direct path found wrong, in its own words
        return NetworkError(f"{operation}: the peer sent {shorten(ending.invalid, 160)}; the association was aborted "
                            f"after {seconds:.1f} s{kept}", "the peer is at fault: check its log")
    invalid = next((m for m in log if m.startswith("Invalid ")), "")
    if any(m.startswith("Received an invalid DIMSE message") for m in log):
        detail = f": {shorten(invalid)}" if invalid else ""
        return NetworkError(f"{operation}: the peer sent an invalid DIMSE message{detail}; the association was "
                            f"aborted after {seconds:.1f} s{kept}", "the peer is at fault: check its log")
    if ending.released:  # what ended it first, whatever pynetdicom or the peer did after
        return NetworkError(f"{operation}: the peer released the association after {seconds:.1f} s, before the final "
                            f"response{kept}", "the next command re-associates")
    if ending.abort_pdu is not None or ending.peer_abort is not None or (
            ending.connection_closed and ending.silence < (dimse_timeout or float("inf"))):
        how = describe_abort(ending.peer_abort, ending.connection_closed, ending.abort_pdu)
        return NetworkError(f"{operation}: {how} after {seconds:.1f} s, before the final response{kept}",
                            "the next command re-associates")
    if dimse_timeout is not None and ending.silence >= dimse_timeout - 0.05:
        return no_response_within(operation, dimse_timeout, kept)
    return NetworkError(f"{operation}: the association was lost before the final response{kept}",
                        "the next command re-associates")


def shorten(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def merged(name: str, dones: Sequence[GetDone], received: Sequence[Received]) -> SplitDone:
    """The parts of a split retrieve as one result: an object failed only if no association brought it."""
    uids = {r.sop_instance_uid for r in received}
    failed = sorted({uid for done in dones for uid in done.failed_uids} - uids)
    matched = max((d.completed + d.failed + d.warning for d in dones), default=0)
    failures = tuple(d.status for d in dones
                     if d.status.category == "Failure" and d.status.code not in SUB_OPERATION_STATUSES)
    return SplitDone(name, len(dones), matched, len(uids), tuple(failed), failures)
