"""A-ASSOCIATE-RJ, A-ABORT and connection failures → words and the fix. Decoded here, once.

pynetdicom keeps the cause of a failed connect (refused, timed out, unknown) only in its
error log, so while associating we record that log and read the cause from it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pynetdicom.association import Association
from pynetdicom.pdu_primitives import A_ABORT, A_P_ABORT

from getsh.dicom.net.request import AssociationRequest, Timeouts
from getsh.errors import NetworkError

_PYNETDICOM = logging.getLogger("pynetdicom")

REJECT_RESULTS = {1: "permanently", 2: "transiently"}
REJECT_SOURCES = {
    1: "the service user",
    2: "the service provider (ACSE)",
    3: "the service provider (presentation)",
}
REJECT_REASONS = {
    (1, 1): "no reason given",
    (1, 2): "application context name not supported",
    (1, 3): "calling AE title not recognised",
    (1, 7): "called AE title not recognised",
    (2, 1): "no reason given",
    (2, 2): "protocol version not supported",
    (3, 1): "temporary congestion",
    (3, 2): "local limit exceeded",
}
REJECT_HINTS = {
    (1, 3): "the peer does not know our AE title: set aet to one it knows, or ask its admin to add this one",
    (1, 7): "check the peer's AE title and set it with: aec TITLE",
    (3, 1): "the peer is busy: try again later",
    (3, 2): "the peer has too many associations open: try again later",
}
ABORT_SOURCES = {0: "the peer (service user)", 1: "the peer (reserved source)", 2: "the peer's DICOM provider"}
PROVIDER_REASONS = {
    0: "reason not specified",
    1: "unrecognised PDU",
    2: "unexpected PDU",
    4: "unrecognised PDU parameter",
    5: "unexpected PDU parameter",
    6: "invalid PDU parameter value",
}


def describe_abort(primitive: Any, connection_closed: bool) -> str:
    """Words for an A-ABORT / A-P-ABORT indication."""
    if isinstance(primitive, A_ABORT):
        return f"aborted by {ABORT_SOURCES.get(primitive.abort_source or 0, 'the peer')}"
    if isinstance(primitive, A_P_ABORT):
        reason = primitive.provider_reason or 0
        if reason == 0 and connection_closed:
            return "the peer closed the connection"
        return f"aborted by the DICOM provider: {PROVIDER_REASONS.get(reason, f'reason {reason}')}"
    return "the peer closed the connection" if connection_closed else "the association was aborted"


def no_response_within(operation: str, limit: float, kept: str = "") -> NetworkError:
    """No response came within the DIMSE timeout, and so the association was aborted: one wording
    for every request (``kept``: what was kept of its results, appended to the message)."""
    return NetworkError(
        f"{operation}: no response within {limit} s (dimse-timeout); the association was aborted{kept}",
        "check the peer, or raise the limit: set dimse-timeout SECONDS",
    )


class _ErrorLog(logging.Handler):
    """Collects pynetdicom's error messages while we associate."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def pynetdicom_errors() -> Iterator[list[str]]:
    """The error messages pynetdicom logs inside the block."""
    recorder = _ErrorLog()
    old_level = _PYNETDICOM.level
    if not _PYNETDICOM.isEnabledFor(logging.ERROR):
        _PYNETDICOM.setLevel(logging.ERROR)
    _PYNETDICOM.addHandler(recorder)
    try:
        yield recorder.messages
    finally:
        _PYNETDICOM.removeHandler(recorder)
        _PYNETDICOM.setLevel(old_level)


def association_failure(
    assoc: Association,
    request: AssociationRequest,
    timeouts: Timeouts,
    log: list[str],
    elapsed: float,
    abort: Any,
    connection_closed: bool,
) -> NetworkError:
    """Why an association request failed, in words, with the fix."""
    where = f"{request.called_ae} @ {request.peer}"
    if assoc.is_rejected:
        primitive = assoc.acceptor.primitive
        result = int(getattr(primitive, "result", 0) or 0)
        source = int(getattr(primitive, "result_source", 0) or 0)
        diagnostic = int(getattr(primitive, "diagnostic", 0) or 0)
        reason = REJECT_REASONS.get((source, diagnostic), f"reason {diagnostic}")
        how = REJECT_RESULTS.get(result, "")
        message = f"association rejected {how} by {REJECT_SOURCES.get(source, 'the peer')}: {reason} ({where})"
        return NetworkError(message.replace("  ", " "), REJECT_HINTS.get((source, diagnostic), ""))
    tcp = next((m.split(":", 1)[1].strip() for m in log if m.startswith("TCP Initialisation Error")), "")
    if tcp:
        if "timed out" in tcp:
            return NetworkError(
                f"connection to {request.peer} timed out after {timeouts.connect} s (connect-timeout)",
                "check host and port, or raise it: set connect-timeout SECONDS",
            )
        if "refused" in tcp.lower():
            return NetworkError(
                f"connection refused by {request.peer}",
                "is the peer running and listening on that port?",
            )
        return NetworkError(f"cannot connect to {request.peer}: {tcp}", "check host, port and network")
    if any(m.startswith("ACSE timeout") for m in log):
        return NetworkError(
            f"no answer to the association request from {where} within {timeouts.acse} s (acse-timeout)",
            "the peer accepted the connection but did not answer: check it is a DICOM service, "
            "or raise the timeout: set acse-timeout SECONDS",
        )
    if any("No accepted presentation contexts" in m for m in log):
        return NetworkError(
            f"{where} accepted none of the {len(request.plan)} presentation contexts we proposed",
            "try another model or transfer syntax (model, propose, prefer); 'status' lists them",
        )
    if abort is not None or connection_closed:
        return NetworkError(
            f"association request to {where}: {describe_abort(abort, connection_closed)}",
            "the peer may not accept our AE title or this kind of request: check its log",
        )
    detail = "; ".join(log) or f"no answer after {elapsed:.1f} s"
    return NetworkError(f"association with {where} failed: {detail}", "run with -d for the protocol log")
