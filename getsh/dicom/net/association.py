"""The session's one association: open lazily, reuse, renegotiate when stale, release or abort.

Why an association failed is worked out in dicom/failures.py; this module notices when it
is lost or stale and says why.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from pynetdicom import AE, build_context, build_role, evt
from pynetdicom.association import Association
from pynetdicom.pdu_primitives import A_ABORT, A_P_ABORT

from getsh.dicom.events import Associated, AssociationInfo, ContextInfo, Released
from getsh.dicom.net.failures import (
    PeerAbort,
    Rejected,
    association_failure,
    describe_abort,
    no_response_within,
    pynetdicom_errors,
    tls_failure,
)
from getsh.dicom.net.identity import pending_words, refused_words, status_words
from getsh.dicom.net.negotiation import dropped_advice
from getsh.dicom.net.pdu_bounds import abort_for, bound_pdu_reads, diagnosis
from getsh.dicom.net.presentation import MAX_CONTEXTS, SERVICE_CONTEXTS
from getsh.dicom.net.request import AssociationRequest, Timeouts
from getsh.dicom.net.tls import client_context, describe
from getsh.dicom.net.trace import Tracer
from getsh.dicom.portable import peer_closed
from getsh.errors import NetworkError


def _nodelay(event: evt.Event) -> None:
    """Nagle's algorithm costs ~40 ms per small message on loopback: turn it off."""
    sock = event.assoc.dul.socket.socket if event.assoc.dul.socket else None
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass


def _dropped(request: AssociationRequest) -> str:
    """Which storage classes did not fit, and how to get them ('' when all did)."""
    plan = request.plan
    if not plan.dropped:
        return ""
    split = len(set(plan.storage_classes)) + len(plan.dropped) > MAX_CONTEXTS - SERVICE_CONTEXTS
    return dropped_advice(plan.dropped, dict(request.because).get("prefer", ""), split)


def contexts_of(assoc: Association) -> list[ContextInfo]:
    """Each presentation context ``assoc`` proposed and what became of it, in the order proposed."""
    accepted = {(str(cx.abstract_syntax), cx.context_id): cx for cx in assoc.accepted_contexts}
    rejected = {cx.context_id: cx for cx in assoc.rejected_contexts}
    infos = []
    for cx in assoc.requestor.requested_contexts:
        key = (str(cx.abstract_syntax), cx.context_id)
        proposed = tuple(str(ts) for ts in cx.transfer_syntax)
        if key in accepted:
            got = accepted[key]
            infos.append(ContextInfo(cx.context_id, str(cx.abstract_syntax), "accepted",
                                     (str(got.transfer_syntax[0]),), bool(got.as_scu), bool(got.as_scp), proposed))
        else:
            reason = rejected[cx.context_id].status.lower() if cx.context_id in rejected else "no answer"
            infos.append(ContextInfo(cx.context_id, str(cx.abstract_syntax), reason, proposed, False, False, proposed))
    return infos


def settle(assoc: Association, limit: float = 1.0) -> None:
    """Give pynetdicom's reactor a moment to take down an association whose end it is about to
    notice; that is when it records the A-ABORT or closed connection that ended it."""
    deadline = time.monotonic() + limit
    while assoc.is_established and time.monotonic() < deadline:
        time.sleep(0.005)


def resolve(host: str, port: int, timeout: float | None = None) -> str:
    """The IP address to connect to; NetworkError naming the host when it cannot be resolved."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise NetworkError(
            f"cannot resolve host {host!r}: {exc.strerror}", "check the host name, or use an IP address"
        ) from None
    ipv4 = [info for info in infos if info[0] == socket.AF_INET]
    return str((ipv4 or infos)[0][4][0])


def _unsolicited(event: evt.Event) -> None:
    """EVT_DIMSE_RECV (pynetdicom's DUL thread): a message that arrives while none of our requests runs
    (pynetdicom's reactor is paused for each one, and for the direct receive path) belongs to no
    request: a C-STORE after the final response, a response to a request long answered. Left to
    pynetdicom, its reactor would answer or drop it and the association would be out of step: abort."""
    assoc = event.assoc
    if assoc._reactor_checkpoint.is_set() and assoc.is_established:
        name = type(event.message).__name__.replace("_", "-")
        abort_for(assoc, f"a {name} that belongs to no request (none was running)")


class PeerEnd:
    """How the peer ended one association (pynetdicom's thread fills it in): each association has its
    own, so one being opened cannot change what is known of the one in use."""

    def __init__(self) -> None:
        self.abort: Any = None  # the A-ABORT / A-P-ABORT indication
        self.abort_pdu: PeerAbort | None = None  # the A-ABORT PDU the peer sent, if it did (its source, reason)
        self.closed_by_peer = False

    def on_acse(self, event: evt.Event) -> None:
        primitive = event.primitive  # type: ignore[attr-defined]
        if isinstance(primitive, (A_ABORT, A_P_ABORT)):
            self.abort = primitive

    def on_pdu(self, event: evt.Event) -> None:
        self.abort_pdu = PeerAbort.of(event.pdu) or self.abort_pdu

    def on_close(self, event: evt.Event) -> None:
        # After our own A-ABORT (a DIMSE timeout, a second Ctrl-C) the close is ours, not the peer's.
        self.closed_by_peer = not event.assoc.is_aborted


class Link:
    """Owns the session's association and knows when it must be renewed."""

    def __init__(self) -> None:
        self.assoc: Association | None = None
        self.request: AssociationRequest | None = None
        self.opened_at: float | None = None
        self.last_used: float | None = None
        self._end = PeerEnd()
        self._ours_closed = False
        self._distrusted = ""  # why getsh aborted an association it could no longer vouch for
        self.tracer = Tracer()  # trace on: the protocol as it happens (net/trace.py)

        self.tls = ""  # what the association's TLS negotiated (net/tls.describe); '' over plain TCP

    # --- state ----------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.assoc is not None and self.assoc.is_established

    def lost_reason(self) -> str:
        """Why an association we had is no longer usable ('' if it is, or if we never had one)."""
        if self.assoc is None or self.assoc.is_established or self._ours_closed:
            return ""
        if self._distrusted:
            return self._distrusted
        why = diagnosis(self.assoc)  # a PDU or message that belonged to no request: we aborted
        if why:
            return f"the peer sent {why}; getsh aborted the association"
        if self.assoc.is_released:
            return "the peer released the association"
        return describe_abort(self._end.abort, self._end.closed_by_peer, self._end.abort_pdu)

    def state(self, wanted: AssociationRequest | None) -> str:
        """none / open / stale / closed, as shown in the toolbar and ``status``."""
        if self.assoc is None or self._ours_closed:
            return "none"
        if not self.assoc.is_established:
            return "closed"
        if wanted is not None and wanted != self.request:
            return "stale"
        return "open"

    def stale_reason(self, wanted: AssociationRequest) -> str:
        """Which negotiated parameters differ between the open association and ``wanted``."""
        current = self.request
        if current is None:
            return ""
        changed = [f"peer {wanted.peer}"] if current.peer != wanted.peer else []
        before = dict(current.because)
        changed += [f"{name} {value}" for name, value in wanted.because if before.get(name) != value]
        if not changed and current.plan != wanted.plan:
            changed.append("presentation contexts")
        return ", ".join(changed)

    # --- opening and closing --------------------------------------------------------------

    def ensure(self, wanted: AssociationRequest, timeouts: Timeouts) -> tuple[Association, Associated | None]:
        """An open association for ``wanted``: the current one, or a new one (and why)."""
        self._notice_closed_connection()
        self._notice_unsolicited()
        state = self.state(wanted)
        if state == "open" and self.assoc is not None:
            self.tracer.follow(self.assoc)
            self.apply_timeouts(timeouts)
            self.last_used = time.monotonic()
            return self.assoc, None
        if state == "stale":
            cause = f"settings changed ({self.stale_reason(wanted)})"
            self.tracer.reassociating(cause)
            self.close(abort=False)
        elif state == "closed":
            cause = self.lost_reason()
            self.tracer.reassociating(cause)
        else:
            cause = ""
        try:
            event = self.open(wanted, timeouts, reason=f"{cause}: re-associating" if cause else "")
        except NetworkError as error:
            if cause:
                error.message = f"{cause}, and re-associating failed: {error.message}"
            raise
        assert self.assoc is not None
        return self.assoc, event

    def open(self, request: AssociationRequest, timeouts: Timeouts, reason: str = "") -> Associated:
        """Associate now, replacing any association we had (see ``replace``)."""
        return self.replace(request, timeouts, reason)[1]

    def replace(self, request: AssociationRequest, timeouts: Timeouts, reason: str = "",
                abort: bool = False) -> tuple[Released | None, Associated]:
        """Associate now. The new association replaces ours only once it is established: ours is then
        released (aborted with ``abort``), and the Released event says so; a failure (NetworkError,
        ``Rejected`` for an A-ASSOCIATE-RJ) leaves ours as it was."""
        address = resolve(request.peer.host, request.peer.port)
        ae = AE(ae_title=request.calling_ae)
        ae.acse_timeout = timeouts.acse
        ae.dimse_timeout = timeouts.dimse
        ae.connection_timeout = timeouts.connect
        ae.network_timeout = None  # an idle shell keeps its association
        contexts = [build_context(cx.abstract_syntax, list(cx.transfer_syntaxes)) for cx in request.plan.contexts]
        # pynetdicom types these lists with every item kind it takes (invariant lists): say what they are
        roles: list[Any] = [build_role(cx.abstract_syntax, scp_role=True) for cx in request.plan.contexts
                            if cx.scp_role]
        tls = client_context(request.tls, timeouts.acse) if request.tls is not None else None
        identity = request.identity
        if identity is not None:  # its secret read now; a UsageError if it cannot be sent
            roles.append(identity.negotiation_item())
        end = PeerEnd()
        handlers: list[Any] = [
            (evt.EVT_CONN_OPEN, _nodelay),
            (evt.EVT_CONN_OPEN, lambda event: bound_pdu_reads(event.assoc, request.max_pdu)),
            (evt.EVT_ACSE_RECV, end.on_acse),
            (evt.EVT_PDU_RECV, end.on_pdu),
            (evt.EVT_CONN_CLOSE, end.on_close),
            (evt.EVT_DIMSE_RECV, _unsolicited),
            *(self.tracer.handlers() if self.tracer.on else ()),
        ]
        started = time.monotonic()
        with pynetdicom_errors() as errors:
            assoc = ae.associate(
                address,
                request.peer.port,
                contexts=contexts,
                ae_title=request.called_ae,
                max_pdu=request.max_pdu,
                ext_neg=roles,
                evt_handlers=handlers,
                tls_args=(tls, request.peer.host) if tls is not None else None,
            )
        if not assoc.is_established:
            if not self.is_open:  # nothing usable is left as it was: the next attempt starts afresh
                self.assoc, self.request = None, None
            failed = tls.settled_failure() if tls is not None else None
            if tls is not None and failed is not None:
                raise tls_failure(failed, tls.phase, tls.agreed, request, timeouts)
            elapsed = time.monotonic() - started
            why = diagnosis(assoc)
            if why:
                if assoc.dul.socket is not None:  # pynetdicom stops its DUL in Sta13 without closing it
                    assoc.dul.socket.close()
                raise NetworkError(f"association request to {request.called_ae} @ {request.peer}: the peer sent "
                                   f"{why}; getsh aborted it", "the peer is at fault: check its log")
            failure = association_failure(assoc, request, timeouts, errors, elapsed, end.abort,
                                          end.closed_by_peer, end.abort_pdu)
            if isinstance(failure, Rejected) and failure.no_reason:  # a refused user identity, most likely
                failure.message, failure.hint = refused_words(identity, failure.message, failure.hint)
            raise failure
        released = self.close(abort=abort) if self.is_open else None
        self.tracer.follow(assoc, bound=self.tracer.on)
        self.assoc, self.request, self._end = assoc, request, end
        self._ours_closed = False
        self._distrusted = ""
        self.tls = describe(assoc.dul.socket.socket) if assoc.dul.socket is not None else ""
        self.opened_at = self.last_used = time.monotonic()
        infos = self.context_infos()
        return released, Associated(
            peer=str(request.peer),
            calling_ae=request.calling_ae,
            called_ae=request.called_ae,
            accepted=sum(1 for cx in infos if cx.accepted),
            proposed=len(infos),
            reason=reason,
            contexts=tuple(infos),
            dropped=len(request.plan.dropped),
            dropped_advice=_dropped(request),
            tls=self.tls,
            identity=identity.outcome(assoc.acceptor.user_identity) if identity is not None else "",
        )

    def close(self, abort: bool) -> Released | None:
        """Release (or abort) the association; None when there was nothing open."""
        assoc, request = self.assoc, self.request
        if assoc is None or request is None or self._ours_closed:
            return None
        self._ours_closed = True
        if not assoc.is_established:
            return None
        if abort:
            assoc.abort()
        else:
            assoc.release()
        return Released(str(request.peer), aborted=abort or assoc.is_aborted)

    def distrust(self, why: str) -> None:
        """The association is in a state getsh cannot vouch for (the peer sent what belongs to no
        request, or the receive loop failed): abort it now; the next command re-associates, saying ``why``."""
        assoc = self.assoc
        if assoc is None or self._ours_closed:
            return
        self._distrusted = why
        if assoc.is_established:
            assoc.abort()

    def _notice_unsolicited(self) -> None:
        """A DIMSE message waiting between commands belongs to no request of ours (a C-STORE after the
        final response, a response to a request long answered): the association is out of step."""
        assoc = self.assoc
        if assoc is None or not assoc.is_established or assoc.dimse.msg_queue.empty():
            return
        _, message = assoc.dimse.peek_msg()
        what = type(message).__name__.replace("_", "-") if message is not None else "message"
        self.distrust(f"the peer sent a {what} that belongs to no request (after the last one ended)")

    def _notice_closed_connection(self) -> None:
        """Catch a connection the peer closed a moment ago, before pynetdicom's thread has.

        Sending on it would fail half-way; finding out first lets us re-associate cleanly.
        Peeking does not consume data, so pynetdicom's reader is not disturbed.
        """
        assoc = self.assoc
        if assoc is None or not assoc.is_established or assoc.dul.socket is None:
            return
        sock = assoc.dul.socket.socket
        try:
            closed = sock is None or peer_closed(sock)
        except (OSError, ValueError):
            closed = True
        if not closed:
            return
        self._end.closed_by_peer = True
        settle(assoc)
        if assoc.is_established:
            assoc.abort()

    def dimse_failure(self, operation: str, timeouts: Timeouts, elapsed: float) -> NetworkError:
        """Why a DIMSE request got no valid response: a timeout, or the association was lost."""
        assoc = self.assoc
        if assoc is not None:
            settle(assoc)
        limit = timeouts.dimse
        if limit is not None and elapsed >= limit:
            return no_response_within(operation, limit)
        reason = self.lost_reason() or "no valid response, the association was aborted"
        return NetworkError(f"{operation} failed: {reason}", "the next command re-associates")

    def apply_timeouts(self, timeouts: Timeouts) -> None:
        """Timeouts are not negotiated: change them on the live association."""
        if self.assoc is not None:
            self.assoc.acse_timeout = timeouts.acse
            self.assoc.dimse_timeout = timeouts.dimse
            self.assoc.connection_timeout = timeouts.connect

    # --- inspection -----------------------------------------------------------------------

    def context_infos(self) -> list[ContextInfo]:
        if self.assoc is None or self.request is None:
            return []
        return contexts_of(self.assoc)

    def info(self, wanted: AssociationRequest | None) -> AssociationInfo:
        assoc, request = self.assoc, self.request
        state = self.state(wanted)
        now = time.monotonic()
        if assoc is None or request is None or state == "none":
            return AssociationInfo(
                peer=str(wanted.peer) if wanted else "",
                calling_ae=wanted.calling_ae if wanted else "",
                called_ae=wanted.called_ae if wanted else "",
                state="none", state_reason="", age=None, idle=None, peer_max_pdu=None, our_max_pdu=None,
                implementation_class_uid="", implementation_version="", contexts=(), budget=MAX_CONTEXTS,
                identity=pending_words(wanted.identity if wanted is not None else None),
            )
        acceptor = assoc.acceptor
        reason = {"stale": self.stale_reason(wanted) if wanted else "", "closed": self.lost_reason()}.get(state, "")
        return AssociationInfo(
            peer=str(request.peer),
            calling_ae=request.calling_ae,
            called_ae=request.called_ae,
            state=state,
            state_reason=reason,
            age=now - self.opened_at if self.opened_at else None,
            idle=now - self.last_used if self.last_used else None,
            peer_max_pdu=acceptor.maximum_length,
            our_max_pdu=request.max_pdu,
            implementation_class_uid=str(acceptor.implementation_class_uid or ""),
            implementation_version=str(acceptor.implementation_version_name or ""),
            contexts=tuple(self.context_infos()),
            budget=MAX_CONTEXTS,
            tls=self.tls,
            identity=status_words(request.identity, acceptor.user_identity, wanted.identity if wanted else None,
                                  state == "stale"),
        )
