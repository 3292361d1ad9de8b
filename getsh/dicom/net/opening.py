"""Opening one association: the requestor's proposals and hooks, the attempt, and why it failed.

association.Link decides when to open one and keeps it; this module does the asking. The hooks
turn Nagle off, bound the PDUs the peer may send, watch how the peer ends the association
(``PeerEnd``) and abort on a message that belongs to no request.
"""

from __future__ import annotations

import copy
import logging
import socket
import time
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from pynetdicom import AE, _config, build_context, build_role, evt
from pynetdicom.association import Association
from pynetdicom.pdu_primitives import A_ABORT, A_P_ABORT
from pynetdicom.presentation import PresentationContext

from getsh.dicom.events import ContextInfo
from getsh.dicom.net.failures import PeerAbort, Rejected, association_failure, pynetdicom_errors, tls_failure
from getsh.dicom.net.identity import refused_words
from getsh.dicom.net.negotiation import dropped_advice
from getsh.dicom.net.pdu_bounds import abort_for, bound_pdu_reads, diagnosis
from getsh.dicom.net.presentation import MAX_CONTEXTS, SERVICE_CONTEXTS, ContextPlan
from getsh.dicom.net.request import AssociationRequest, Timeouts
from getsh.dicom.net.tls import client_context
from getsh.errors import GetshError, NetworkError


def _nodelay(event: evt.Event) -> None:
    """Nagle's algorithm costs ~40 ms per small message on loopback: turn it off."""
    sock = event.assoc.dul.socket.socket if event.assoc.dul.socket else None
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass


_PYNETDICOM = logging.getLogger("pynetdicom")


class _Proposed(PresentationContext):
    """A presentation context pynetdicom's ``associate`` copies cheaply. Its deep copy would make every
    UID again, each checked by a regular expression: some 30 ms of CPU for 123 contexts, and a parallel
    retrieve opens up to sixteen associations at once. UIDs are immutable: the copy shares them."""

    def __deepcopy__(self, memo: dict[int, Any]) -> _Proposed:
        copied = copy.copy(self)
        copied._transfer_syntax = list(self._transfer_syntax)
        return copied


@lru_cache(maxsize=16)
def _built(plan: ContextPlan) -> tuple[PresentationContext, ...]:
    built = []
    for planned in plan.contexts:
        context = build_context(planned.abstract_syntax, list(planned.transfer_syntaxes))
        context.__class__ = _Proposed
        built.append(context)
    return tuple(built)


@lru_cache(maxsize=16)
def _roles(plan: ContextPlan) -> tuple[Any, ...]:
    """SCP role selection for the plan's storage classes (C-GET), built once per plan."""
    return tuple(build_role(cx.abstract_syntax, scp_role=True) for cx in plan.contexts if cx.scp_role)


def contexts_for(plan: ContextPlan) -> list[PresentationContext]:
    """The plan's contexts as pynetdicom proposes them, built once per plan (every association of a
    parallel retrieve proposes the same; pynetdicom works on copies of its own)."""
    return list(_built(plan))


def dropped(request: AssociationRequest) -> str:
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


class Attempt:
    """One A-ASSOCIATE-RQ as ``request`` says, with ``timeouts``; ``end`` watches the association it opens."""

    def __init__(self, request: AssociationRequest, timeouts: Timeouts, end: PeerEnd,
                 extra_hooks: Iterable[Any] = ()) -> None:
        self.request, self.timeouts, self.end = request, timeouts, end
        self.extra_hooks = tuple(extra_hooks)  # trace's, when it is on
        self.tls = client_context(request.tls, timeouts.acse) if request.tls is not None else None
        self.started = 0.0
        self.errors: Any = None

    def associate(self) -> Association:
        request, timeouts = self.request, self.timeouts
        address = resolve(request.peer.host, request.peer.port)
        ae = AE(ae_title=request.calling_ae)
        ae.acse_timeout = timeouts.acse
        ae.dimse_timeout = timeouts.dimse
        ae.connection_timeout = timeouts.connect
        ae.network_timeout = None  # an idle shell keeps its association
        contexts = contexts_for(request.plan)
        self.started = time.monotonic()
        # pynetdicom's standard handlers word every PDU and message for its log; when that log is not
        # shown (-v, -d) the words are thrown away, at some 40 % of the CPU an association costs to open.
        _config.LOG_HANDLER_LEVEL = "standard" if _PYNETDICOM.isEnabledFor(logging.INFO) else "none"
        with pynetdicom_errors() as self.errors:
            return ae.associate(
                address,
                request.peer.port,
                contexts=contexts,
                ae_title=request.called_ae,
                max_pdu=request.max_pdu,
                ext_neg=self.negotiation_items(),
                evt_handlers=self.hooks(),
                tls_args=(self.tls, request.peer.host) if self.tls is not None else None,
            )

    def negotiation_items(self) -> list[Any]:
        """SCP role selection for the storage classes (C-GET), and the user identity if any."""
        # pynetdicom types these lists with every item kind it takes (invariant lists): say what they are
        items: list[Any] = list(_roles(self.request.plan))
        if self.request.identity is not None:  # its secret read now; a UsageError if it cannot be sent
            items.append(self.request.identity.negotiation_item())
        return items

    def hooks(self) -> list[Any]:
        end, max_pdu = self.end, self.request.max_pdu
        return [
            (evt.EVT_CONN_OPEN, _nodelay),
            (evt.EVT_CONN_OPEN, lambda event: bound_pdu_reads(event.assoc, max_pdu)),
            (evt.EVT_ACSE_RECV, end.on_acse),
            (evt.EVT_PDU_RECV, end.on_pdu),
            (evt.EVT_CONN_CLOSE, end.on_close),
            (evt.EVT_DIMSE_RECV, _unsolicited),
            *self.extra_hooks,
        ]

    def failure(self, assoc: Association) -> GetshError:
        """Why ``assoc`` was not established, in words: the TLS handshake, a peer that broke the
        protocol, a reject (a no-reason one most likely a refused user identity), a timeout."""
        request, timeouts, end, tls = self.request, self.timeouts, self.end, self.tls
        failed = tls.settled_failure() if tls is not None else None
        if tls is not None and failed is not None:
            return tls_failure(failed, tls.phase, tls.agreed, request, timeouts)
        elapsed = time.monotonic() - self.started
        why = diagnosis(assoc)
        if why:
            if assoc.dul.socket is not None:  # pynetdicom stops its DUL in Sta13 without closing it
                assoc.dul.socket.close()
            return NetworkError(f"association request to {request.called_ae} @ {request.peer}: the peer sent "
                                f"{why}; getsh aborted it", "the peer is at fault: check its log")
        failure = association_failure(assoc, request, timeouts, self.errors, elapsed, end.abort,
                                      end.closed_by_peer, end.abort_pdu)
        if isinstance(failure, Rejected) and failure.no_reason:  # a refused user identity, most likely
            failure.message, failure.hint = refused_words(request.identity, failure.message, failure.hint)
        return failure
