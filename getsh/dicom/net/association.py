"""The session's one association: open lazily, reuse, renegotiate when stale, release or abort.

Why an association failed is worked out in dicom/failures.py; this module notices when it
is lost or stale and says why.
"""

from __future__ import annotations

import time

from pynetdicom.association import Association

from getsh.dicom.events import Associated, AssociationInfo, ContextInfo, Released
from getsh.dicom.net.failures import describe_abort, no_response_within
from getsh.dicom.net.identity import pending_words, status_words
from getsh.dicom.net.opening import Attempt, PeerEnd, contexts_of, dropped, settle
from getsh.dicom.net.pdu_bounds import diagnosis
from getsh.dicom.net.presentation import MAX_CONTEXTS
from getsh.dicom.net.request import AssociationRequest, Timeouts
from getsh.dicom.net.spares import Spares
from getsh.dicom.net.tls import describe
from getsh.dicom.net.trace import Tracer
from getsh.dicom.portable import peer_closed
from getsh.errors import NetworkError


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
        self.spares = Spares()  # parallel N's other associations, kept between retrieves (net/spares.py)

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
        end = PeerEnd()
        attempt = Attempt(request, timeouts, end, self.tracer.handlers() if self.tracer.on else ())
        assoc = attempt.associate()
        if not assoc.is_established:
            if not self.is_open:  # nothing usable is left as it was: the next attempt starts afresh
                self.assoc, self.request = None, None
            raise attempt.failure(assoc)
        identity = request.identity
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
            dropped_advice=dropped(request),
            tls=self.tls,
            identity=identity.outcome(assoc.acceptor.user_identity) if identity is not None else "",
        )

    def close(self, abort: bool) -> Released | None:
        """Release (or abort) the association, and the spares kept with it; None when there was nothing open."""
        self.spares.close(abort)
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
            kept=len(self.spares),
        )


def open_another(request: AssociationRequest, timeouts: Timeouts) -> Association:
    """An association besides the session's, as ``request`` says (a parallel retrieve's): its caller
    uses and releases it. NetworkError or ``Rejected`` (A-ASSOCIATE-RJ) in words when it cannot be had."""
    attempt = Attempt(request, timeouts, PeerEnd())
    assoc = attempt.associate()
    if not assoc.is_established:
        raise attempt.failure(assoc)
    return assoc
