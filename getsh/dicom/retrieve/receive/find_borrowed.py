"""A C-FIND on the association's borrowed socket, as its caller (sharing.Planner) uses it: borrow the
socket (handover.py), run the exchange (direct_find.py), give the socket back, then end the
association where the exchange left it out of step, and say what went wrong in the words of
pynetdicom's path (query/find.py): PeerFailure for a failure status, NetworkError when no final
response came.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from pydicom import Dataset
from pynetdicom.association import Association

from getsh.dicom.net.cancellation import PynetdicomPath
from getsh.dicom.net.opening import settle
from getsh.dicom.net.pdu_bounds import abort_for
from getsh.dicom.retrieve.receive.direct_find import DirectFind
from getsh.dicom.retrieve.receive.handover import borrow_socket, hand_pdu_to_pynetdicom
from getsh.dicom.retrieve.receive.transport import transport_for
from getsh.dicom.status import decode as decode_status
from getsh.dicom.status import failure_hint
from getsh.errors import NetworkError, PeerFailure

REASSOCIATE = "the next command re-associates"


def find_directly(assoc: Association, query: Dataset, model_uid: str, message_id: int,
                  current: Callable[[DirectFind | None], None],
                  dropped: Callable[[Exception], None]) -> Iterator[Dataset]:
    """The C-FIND's matches on ``assoc``'s borrowed socket (as query.find.find on pynetdicom's path:
    PeerFailure for a failure status, NetworkError when no final response came, the association then
    ended). ``current`` is told the DirectFind while it runs (cancel and abort reach it there);
    ``dropped`` the error a caller that stopped listening early did not hear (the association ended
    while its C-FIND was being cancelled). HandoverError, before anything is sent, when the socket
    cannot be borrowed now."""
    context = assoc._get_valid_context(model_uid, "", "scu")
    accepted = frozenset(int(cx.context_id or 0) for cx in assoc.accepted_contexts if cx.context_id is not None)
    finder: DirectFind | None = None
    try:
        with borrow_socket(assoc) as sock, transport_for(sock) as transport:
            finder = DirectFind(
                transport, context=(int(context.context_id or 0), str(context.transfer_syntax[0])), accepted=accepted,
                peer_max_pdu=int(assoc.acceptor.maximum_length or 0), max_pdu=int(assoc.requestor.maximum_length or 0),
                dimse_timeout=assoc.dimse_timeout, foreign_pdu=lambda raw: hand_pdu_to_pynetdicom(assoc, raw))
            current(finder)
            try:
                yield from finder.matches(query, model_uid, message_id)
            finally:
                current(None)
    except GeneratorExit:
        if finder is not None:
            error = _settle(assoc, finder, message_id, model_uid)
            if isinstance(error, NetworkError):
                dropped(error)
        raise
    except BaseException:
        if finder is not None:
            _settle(assoc, finder, message_id, model_uid)  # whatever it was, the association is not left mid-request
        raise
    assert finder is not None
    error = _settle(assoc, finder, message_id, model_uid)
    if error is not None:
        raise error


def _settle(assoc: Association, finder: DirectFind, message_id: int, model_uid: str) -> Exception | None:
    """With the socket given back: end the association where the exchange left it out of step (and
    let pynetdicom take it down before the caller goes on); what to raise (None: it ended well)."""
    outcome = finder.outcome
    if outcome is None:
        if not finder.request_sent:  # nothing went out
            return None
        # Left without an ending (an error of getsh's own): the association is mid-request.
        PynetdicomPath(assoc, message_id, model_uid).stop()
        return NetworkError("C-FIND: the plan's C-FIND was left unfinished; the association was aborted",
                            REASSOCIATE)
    if outcome.ending == "final" and not outcome.after:
        assert outcome.status is not None
        decoded = decode_status(int(outcome.status.Status), "find")
        if decoded.category in ("Success", "Cancel"):
            return None
        return PeerFailure(f"C-FIND {decoded}", failure_hint("find"))
    if outcome.ending in ("timeout", "stopped"):
        PynetdicomPath(assoc, message_id, model_uid).stop()
        if outcome.ending == "stopped":
            return NetworkError("C-FIND: aborted at your request", REASSOCIATE)
        return NetworkError(f"C-FIND: no response from the peer for {outcome.silence:.3g} s (dimse-timeout); "
                            "the association was aborted", REASSOCIATE)
    if outcome.ending in ("final", "invalid"):
        why = outcome.after or outcome.detail
        abort_for(assoc, why)
        error = NetworkError(f"C-FIND: the peer sent {why}; the association was aborted", REASSOCIATE)
    elif outcome.ending == "peer-pdu":
        error = NetworkError(f"C-FIND: the peer sent {outcome.detail}; the association was aborted" if outcome.detail
                             else "C-FIND: the peer ended the association before its final response", REASSOCIATE)
    else:
        error = NetworkError("C-FIND: the peer closed the connection before its final response", REASSOCIATE)
    settle(assoc)  # pynetdicom acts on it now that it has the socket back: the caller sees it ended
    return error
