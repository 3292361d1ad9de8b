"""How a C-GET ended, in the words the shell shows: progress counts, failed UIDs, and the one-line
diagnosis when no final response came (our abort, the peer's, a timeout, an invalid message)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydicom import Dataset

from getsh.dicom.events import GetDone, GetProgress
from getsh.dicom.net.failures import describe_abort
from getsh.dicom.status import decode
from getsh.errors import NetworkError

if TYPE_CHECKING:
    from getsh.dicom.retrieve.run import GetRun


def done_of(run: GetRun, status: Dataset, identifier: Dataset | None, seconds: float) -> GetDone:
    """The final C-GET-RSP (and its identifier) as the shell shows it, with what ``run`` received."""
    code = int(status.Status)
    return GetDone(
        label=run.label,
        status=decode(code, "get"),
        completed=int(status.get("NumberOfCompletedSuboperations", 0) or 0),
        failed=int(status.get("NumberOfFailedSuboperations", 0) or 0),
        warning=int(status.get("NumberOfWarningSuboperations", 0) or 0),
        remaining=int(status.get("NumberOfRemainingSuboperations", 0) or 0),
        received=tuple(run.tally.received),
        refused=tuple(run.tally.refused),
        failed_uids=failed_uids(status, identifier),
        error_comment=str(status.get("ErrorComment", "") or ""),
        seconds=seconds,
        cancelled=run.interrupts > 0 and decode(code, "get").category == "Cancel",
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


def no_response(run: GetRun, dimse_timeout: float | None, seconds: float, log: list[str]) -> NetworkError:
    """Why the C-GET ended without a final response, in one line: our abort, the peer's, a timeout."""
    got = len(run.tally.received)
    were = "objects received before that were" if got != 1 else "object received before that was"
    kept = f"; {got} {were} kept" if got else ""
    if run.interrupts > 1:
        return NetworkError(f"C-GET aborted at your request after {seconds:.1f} s{kept}",
                            "the next command re-associates")
    if run.invalid:  # what the direct path found wrong, in its own words
        return NetworkError(f"C-GET: the peer sent {shorten(run.invalid, 160)}; the association was aborted "
                            f"after {seconds:.1f} s{kept}", "the peer is at fault: check its log")
    invalid = next((m for m in log if m.startswith("Invalid ")), "")
    if any(m.startswith("Received an invalid DIMSE message") for m in log):
        detail = f": {shorten(invalid)}" if invalid else ""
        return NetworkError(f"C-GET: the peer sent an invalid DIMSE message{detail}; the association was "
                            f"aborted after {seconds:.1f} s{kept}", "the peer is at fault: check its log")
    if run.peer_abort is not None or (run.connection_closed and run.silence < (dimse_timeout or float("inf"))):
        how = describe_abort(run.peer_abort, run.connection_closed)
        return NetworkError(f"C-GET: {how} after {seconds:.1f} s, before the final response{kept}",
                            "the next command re-associates")
    if dimse_timeout is not None and run.silence >= dimse_timeout - 0.05:
        return NetworkError(
            f"C-GET: no response within {dimse_timeout} s (dimse-timeout); the association was aborted{kept}",
            "check the peer, or raise the limit: set dimse-timeout SECONDS",
        )
    return NetworkError(f"C-GET: the association was lost before the final response{kept}",
                        "the next command re-associates")


def shorten(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
