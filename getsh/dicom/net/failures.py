"""A-ASSOCIATE-RJ, A-ABORT and connection failures → words and the fix. Decoded here, once.

pynetdicom keeps the cause of a failed connect (refused, timed out, unknown) only in its
error log, so while associating we record that log and read the cause from it.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pynetdicom.association import Association
from pynetdicom.pdu import A_ABORT_RQ
from pynetdicom.pdu_primitives import A_ABORT, A_P_ABORT

from getsh.dicom.net.presentation import FIND_MODELS, GET_MODELS, MOVE_MODELS, VERIFICATION
from getsh.dicom.net.request import AssociationRequest, Timeouts
from getsh.dicom.net.syntaxes import uid_name
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
    (1, 1): "the peer gave no reason: check its log; it may not accept our AE title or address",
    (1, 2): "the peer does not take DICOM's application context: is it a DICOM service, and this its port?",
    (1, 3): "the peer does not know our AE title: set aet to one it knows, or ask its admin to add this one",
    (1, 7): "check the peer's AE title and set it with: aec TITLE (dcmqrscp says this too when it does not know "
            "our own title: then set aet to one it knows)",
    (3, 1): "the peer is busy: try again later",
    (3, 2): "the peer has too many associations open: try again later",
    (2, 1): "the peer's DICOM provider gave no reason: check its log",
    (2, 2): "the peer does not speak DICOM's protocol version 1: is it a DICOM service, and this its port?",
}
TRANSIENT_HINT = "the peer may accept later: try again"
ABORT_SOURCES = {0: "the peer (service user)", 1: "the peer (reserved source)", 2: "the peer's DICOM provider"}
PROVIDER_REASONS = {
    0: "reason not specified",
    1: "unrecognised PDU",
    2: "unexpected PDU",
    4: "unrecognised PDU parameter",
    5: "unexpected PDU parameter",
    6: "invalid PDU parameter value",
}


class Rejected(NetworkError):
    """An A-ASSOCIATE-RJ: its source and reason (diagnostic), as PS3.8 numbers them."""

    def __init__(self, message: str, hint: str, source: int, reason: int) -> None:
        super().__init__(message, hint)
        self.source, self.reason = source, reason

    @property
    def no_reason(self) -> bool:
        """The service user or the ACSE provider gave no reason (a refused user identity, from pynetdicom)."""
        return self.source in (1, 2) and self.reason == 1

    @property
    def local_limit(self) -> bool:
        """The peer has as many associations as it allows (some allow one per calling AE)."""
        return (self.source, self.reason) == (3, 2)


@dataclass(frozen=True)
class PeerAbort:
    """An A-ABORT PDU the peer sent, as it came off the wire: its source and reason (PS3.8 9.3.8).

    Why not pynetdicom's indication: a peer's A-ABORT from its DICOM provider (source 2, reason 0)
    and a connection that simply closed both reach the user as an A-P-ABORT with reason 0, and that
    indication is only evented when pynetdicom's reactor takes it off its queue, which may be after
    a request stopped listening. The PDU is evented (EVT_PDU_RECV) as it is decoded, on both receive
    paths (the direct path hands its PDUs to pynetdicom's decoder), before the association ends."""

    source: int
    reason: int

    @classmethod
    def of(cls, pdu: Any) -> PeerAbort | None:
        """The A-ABORT in an EVT_PDU_RECV's PDU, or None for any other PDU."""
        if not isinstance(pdu, A_ABORT_RQ):
            return None
        return cls(int(pdu.source or 0), int(pdu.reason_diagnostic or 0))

    @property
    def words(self) -> str:
        if self.source == 2:  # the peer's DICOM provider: its reason is significant
            return f"aborted by the peer's DICOM provider: {provider_reason(self.reason)}"
        return f"aborted by {ABORT_SOURCES.get(self.source, f'the peer (source {self.source})')}"


def provider_reason(reason: int) -> str:
    return PROVIDER_REASONS.get(reason, f"reason {reason}")


def describe_abort(primitive: Any, connection_closed: bool, sent: PeerAbort | None = None) -> str:
    """Words for how an association ended: the A-ABORT PDU the peer ``sent`` (its source and reason)
    first; else pynetdicom's A-ABORT / A-P-ABORT indication: one with a reason is our own DICOM
    provider's (it found the peer's PDUs wrong), one without is the connection closing."""
    if sent is not None:
        return sent.words
    if isinstance(primitive, A_ABORT):  # only a PDU makes one: its EVT_PDU_RECV was not seen
        return f"aborted by {ABORT_SOURCES.get(primitive.abort_source or 0, 'the peer')}"
    if isinstance(primitive, A_P_ABORT):
        reason = primitive.provider_reason or 0
        if reason == 0 and connection_closed:
            return "the peer closed the connection"
        return f"aborted by getsh's DICOM provider: {provider_reason(reason)}"
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


_levels: list[int] = []  # pynetdicom's log level before the first of the blocks open now (several C-GETs at once)
_levels_lock = threading.Lock()


@contextmanager
def pynetdicom_errors() -> Iterator[list[str]]:
    """The error messages pynetdicom logs inside the block. Blocks may overlap on several threads
    (``parallel``): the level found before the first is put back after the last."""
    recorder = _ErrorLog()
    with _levels_lock:
        _levels.append(_PYNETDICOM.level)
        if not _PYNETDICOM.isEnabledFor(logging.ERROR):
            _PYNETDICOM.setLevel(logging.ERROR)
    _PYNETDICOM.addHandler(recorder)
    try:
        yield recorder.messages
    finally:
        _PYNETDICOM.removeHandler(recorder)
        with _levels_lock:
            first = _levels[0]
            _levels.pop()
            if not _levels:
                _PYNETDICOM.setLevel(first)


def association_failure(
    assoc: Association,
    request: AssociationRequest,
    timeouts: Timeouts,
    log: list[str],
    elapsed: float,
    abort: Any,
    connection_closed: bool,
    sent: PeerAbort | None = None,
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
        hint = REJECT_HINTS.get((source, diagnostic), "")
        if result == 2 and "later" not in hint:  # transient: the same request may succeed later
            hint = f"{hint}; {TRANSIENT_HINT}" if hint else TRANSIENT_HINT
        return Rejected(message.replace("  ", " "), hint, source, diagnostic)
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
            "the peer accepted the connection but did not answer: check it is a DICOM service"
            + (" (or one that speaks DICOM over TLS on that port: set tls)" if request.tls is None else "")
            + ", or raise the timeout: set acse-timeout SECONDS",
        )
    if any("No accepted presentation contexts" in m for m in log):
        return NetworkError(
            f"{where} accepted none of the {len(request.plan)} presentation contexts we proposed",
            "try another model or transfer syntax (model, propose, prefer); 'status' lists them",
        )
    if request.tls is None and any(m.startswith(_TLS_RECORDS) for m in log):
        return NetworkError(f"{where}: the peer answered in TLS: it does not speak plain DICOM on that port",
                            "associate over TLS: +tls KEY CERT, or set tls anonymous (see: help tls)")
    if abort is not None or connection_closed or sent is not None:
        hint = "the peer may not accept our AE title or this kind of request: check its log"
        return NetworkError(
            f"association request to {where}: {describe_abort(abort, connection_closed, sent)}",
            hint + ("; or it speaks DICOM over TLS on that port: set tls" if request.tls is None else ""),
        )
    detail = "; ".join(log) or f"no answer after {elapsed:.1f} s"
    return NetworkError(f"association with {where} failed: {detail}", "run with -d for the protocol log")


# --- TLS: why the handshake failed, or the peer's alert just after it (net/tls.py keeps the error) ----------
_TLS_RECORDS = ("Unknown PDU type received '0x15'", "Unknown PDU type received '0x16'")  # a TLS alert, handshake
_NOT_TRUSTED = {18, 19, 20, 21, 2, 27}  # self-signed, unknown issuer, cannot verify, untrusted (X509_V_ERR_*)
_NO_TLS = ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST",
           "UNEXPECTED_EOF", "UNKNOWN_PROTOCOL", "UNEXPECTED_MESSAGE")
_NOT_SHARED = ("NO_SHARED_CIPHER", "NO_CIPHERS_AVAILABLE", "UNSUPPORTED_PROTOCOL", "PROTOCOL_VERSION",
               "INSUFFICIENT_SECURITY", "NO_PROTOCOLS_AVAILABLE")
_NOT_TLS_HINT = "set tls off for a plain DICOM port, or ask the peer's admin for its TLS port"
_TRUST_HINT = "trust the CA that signed it: +cf CA.pem or +cd DIR (set tls-ca PATH); -ic skips the check"


def tls_failure(error: OSError, phase: str, agreed: bool, request: AssociationRequest,
                timeouts: Timeouts) -> NetworkError:
    """Why TLS failed with the peer, in one line and its fix. ``phase``: handshake, or after (the peer's
    alert once the handshake was done: TLS 1.3 sends its verdict on our certificate then); ``agreed``:
    a cipher had been agreed (TLS 1.2: a handshake failure then is about our certificate)."""
    where = f"TLS with {request.peer}"
    tls = request.tls
    profile = tls.profile if tls is not None else ""
    anonymous = tls is not None and tls.mode != "on"
    if isinstance(error, ssl.SSLCertVerificationError):
        code, words = error.verify_code, str(error.verify_message or error.reason or error)
        if code in (9, 10):  # not yet valid, expired
            when = "has expired" if code == 10 else "is not valid yet"
            return NetworkError(f"{where}: the peer's certificate {when} ({words})",
                                "the peer's admin must renew it (or check this machine's clock); -ic skips the check")
        if code in (62, 64):  # host name, IP address mismatch
            return NetworkError(f"{where}: the peer's certificate is not for {request.peer.host} ({words})",
                                "connect with a host name or address the certificate names")
        if code in _NOT_TRUSTED:
            return NetworkError(f"{where}: the peer's certificate is not trusted ({words})", _TRUST_HINT)
        return NetworkError(f"{where}: the peer's certificate was refused ({words})", _TRUST_HINT)
    if isinstance(error, TimeoutError):
        return NetworkError(f"{where}: no TLS handshake within {timeouts.acse} s (acse-timeout): the peer may not "
                            "speak TLS on that port", f"{_NOT_TLS_HINT}; or raise it: set acse-timeout SECONDS")
    reason = str(getattr(error, "reason", "") or "").upper()
    if "CERTIFICATE_REQUIRED" in reason or (anonymous and "HANDSHAKE_FAILURE" in reason and agreed):
        return NetworkError(f"{where}: the peer wants a client certificate, and getsh sent none",
                            "give ours: +tls KEY CERT (set tls on, tls-key FILE, tls-cert FILE)")
    if any(word in reason for word in ("UNKNOWN_CA", "BAD_CERTIFICATE", "CERTIFICATE_UNKNOWN", "DECRYPT_ERROR")):
        return NetworkError(f"{where}: the peer does not trust our certificate ({reason.lower()})",
                            "the peer must trust the CA that signed ours (its trusted certificates)")
    if "CERTIFICATE_EXPIRED" in reason:
        return NetworkError(f"{where}: the peer says our certificate has expired", "renew our certificate")
    if any(word in reason for word in _NOT_SHARED) or ("HANDSHAKE_FAILURE" in reason and not agreed):
        return NetworkError(f"{where}: no TLS version or cipher in common with the peer under the {profile} profile "
                            f"({reason.lower() or error})", "the peer offers only what the profile forbids: "
                            "ask its admin for BCP 195; +px (set tls-profile bcp195) also allows older ciphers")
    if phase == "handshake" and (isinstance(error, (ssl.SSLEOFError, ConnectionError))
                                 or any(word in reason for word in _NO_TLS)):
        return NetworkError(f"{where}: the peer does not speak TLS on that port ({reason.lower() or error})",
                            _NOT_TLS_HINT)
    return NetworkError(f"{where} failed: {reason.lower() or error}", "run with -d for the protocol log")


# --- an association a C-GET cannot use, found before the C-GET-RQ is sent --------------------------
# pynetdicom's words for a refused presentation context (PS3.8 9.3.3.2) → ours
_CONTEXT_REFUSALS = {"abstract syntax not supported": "not supported",
                     "transfer syntax(es) not supported": "none of the transfer syntaxes proposed",
                     "user rejected": "refused by the peer", "provider rejected": "refused by its DICOM provider"}
_ROLE_HINT = ("C-GET needs the peer to take getsh as SCP for the classes it sends back (SCP/SCU role selection): "
              "check that the peer allows C-GET retrieval (its configuration), or retrieve with C-MOVE")


def unusable_for_get(assoc: Association, model: str) -> NetworkError | None:
    """Why a C-GET under ``model`` cannot work on this association, or None when it can.

    Two negotiations decide it, and both are known once the association is open: the Q/R GET model's
    own context (refused, pynetdicom raises a bare ValueError at send time), and a storage context on
    which the peer takes getsh as SCP (SCP/SCU role selection) — without one, every object the peer
    finds would fail to come back, and the peer's final status blames the objects.
    """
    model_uid = GET_MODELS[model]
    accepted = assoc.accepted_contexts
    if not any(str(cx.abstract_syntax) == model_uid and cx.as_scu for cx in accepted):
        why = _refusal(assoc, {model_uid}) or "not accepted for getsh as SCU"
        others = " or ".join(f"set model {name}" for name in GET_MODELS if name != model)
        return NetworkError(f"the peer refused the {uid_name(model_uid)} ({why}): no C-GET was sent",
                            f"try another query/retrieve model: {others}")
    services = {VERIFICATION, *GET_MODELS.values(), *FIND_MODELS.values(), *MOVE_MODELS.values()}
    storage = {str(cx.abstract_syntax) for cx in assoc.requestor.requested_contexts} - services
    kept = [cx for cx in accepted if str(cx.abstract_syntax) in storage]
    if not storage or any(cx.as_scp for cx in kept):
        return None
    refused = _refusal(assoc, storage)
    if kept:
        classes = len({str(cx.abstract_syntax) for cx in kept})
        detail, hint = f"it accepted {classes} of {len(storage)} but granted getsh the SCP role for none", _ROLE_HINT
    else:
        detail = f"it refused all {len(storage)} ({refused or 'no reason given'})"
        hint = ("try other transfer syntaxes (propose, prefer; see: status)" if "transfer" in refused else
                "check which classes it holds and takes (accept; see: status) and its configuration"
                if "supported" in refused else _ROLE_HINT)
    return NetworkError(f"the peer accepted no storage class for the retrieved objects: {detail}; "
                        "no C-GET was sent", hint)


def unusable_for_find(assoc: Association, model: str, models: dict[str, str] = FIND_MODELS,
                      operation: str = "C-FIND") -> NetworkError | None:
    """Why a C-FIND (``operation`` of ``models``) under ``model`` cannot be sent on this association (its
    context was refused), or None."""
    model_uid = models[model]
    if any(str(cx.abstract_syntax) == model_uid and cx.as_scu for cx in assoc.accepted_contexts):
        return None
    why = _refusal(assoc, {model_uid}) or "not accepted for getsh as SCU"
    others = " or ".join(f"set model {name}" for name in models if name != model)
    return NetworkError(f"the peer refused the {uid_name(model_uid)} ({why}): no {operation} was sent",
                        f"try another query/retrieve model: {others}")


def unusable_for_move(assoc: Association, model: str) -> NetworkError | None:
    """Why a C-MOVE under ``model`` cannot be sent on this association (its context was refused), or None."""
    return unusable_for_find(assoc, model, MOVE_MODELS, "C-MOVE")


def _refusal(assoc: Association, syntaxes: set[str]) -> str:
    """Why the peer refused the contexts of these abstract syntaxes, in words (the commonest reason)."""
    reasons = [str(cx.status).lower() for cx in assoc.rejected_contexts if str(cx.abstract_syntax) in syntaxes]
    if not reasons:
        return ""
    common = max(set(reasons), key=reasons.count)
    return _CONTEXT_REFUSALS.get(common, common)
