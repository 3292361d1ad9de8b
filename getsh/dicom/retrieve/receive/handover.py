"""Borrowing an association's socket from pynetdicom while a C-GET runs, and giving it back.

Why: pynetdicom reads the socket on its DUL thread (4 KB ``recv`` calls, a 1 ms sleep whenever a
pass found nothing), hands each message to the requesting thread through a queue, and sends the
answer back through another queue to the DUL thread. A C-GET is a strict ping-pong (the peer
sends the next C-STORE only after our response), so those hand-offs, not the bytes, set the pace:
8 ms an object where DCMTK needs under 1 ms. While we hold the socket, ``direct_get`` reads and
writes it on one thread instead.

How, with pynetdicom still the protocol engine: both of pynetdicom's loops are parked at points
where they hold no partial state — the association's reactor at its checkpoint (as pynetdicom's
own ``send_c_get`` does), the DUL reactor where it would next look at the socket (only after its
outgoing queue is empty, so everything pynetdicom meant to send has gone). The state machine stays
in Sta6 throughout: P-DATA in both directions does not change it. A PDU that is not P-DATA (the
peer's A-ABORT or A-RELEASE-RQ) is handed to pynetdicom as if its DUL had read it, and once the
socket is given back every ending (abort, release, closed connection) goes through pynetdicom.

This uses pynetdicom internals (``Association._reactor_checkpoint``/``_is_paused``,
``DULServiceProvider._is_transport_event``/``_decode_pdu``/``_recv_pdu``), pinned by the
``pynetdicom<3.1`` requirement and checked by ``available()``: when they are missing, getsh uses
pynetdicom's own receive path. Upstream, an "exclusive transport" hook on the DUL would replace it.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pynetdicom.association import Association

from getsh.dicom.net.reactor import reactor_parked
from getsh.dicom.retrieve.receive.message import Negotiated

log = logging.getLogger("getsh.handover")

_PARK_LIMIT = 2.0  # seconds to wait for pynetdicom's loops to reach a safe point
BRISK_LOOP_DELAY = 0.0001  # seconds pynetdicom's reader sleeps after a pass with no data, while a request runs
QUIET_LOOP_DELAY = 0.005  # … while a parallel retrieve's association waits for its next share
_NEEDED = (("_reactor_checkpoint", "_is_paused"), ("_is_transport_event", "_decode_pdu", "_recv_pdu", "event_queue",
                                                 "to_provider_queue", "_kill_thread"))


class HandoverError(RuntimeError):
    """The socket cannot be borrowed now; pynetdicom's own path must be used."""


def available(assoc: Association) -> str:
    """'' when the socket can be borrowed, else why not (for the debug log)."""
    dul = assoc.dul
    missing = [n for n in _NEEDED[0] if not hasattr(assoc, n)] + [n for n in _NEEDED[1] if not hasattr(dul, n)]
    if missing:
        return f"this pynetdicom lacks {', '.join(missing)}"
    raw = getattr(dul.socket, "socket", None)
    if not isinstance(raw, socket.socket):  # a TLS one is an ssl.SSLSocket: transport.TlsTransport
        return "the association has no socket"
    if not assoc.is_established:
        return "the association is not established"
    if not assoc.dimse.msg_queue.empty():
        return "a DIMSE message from the peer is waiting"
    return ""


class _Gate:
    """Stands in for the DUL's ``_is_transport_event`` while the socket is borrowed: the DUL thread
    waits here instead of reading, and carries on as before once the socket is given back."""

    def __init__(self, dul: Any) -> None:
        self.dul = dul
        self.original = dul._is_transport_event
        self.closed = threading.Event()  # set while the socket is borrowed
        self.parked = threading.Event()  # the DUL thread is waiting in the gate
        self.opened = threading.Event()

    def __call__(self) -> bool:
        if not self.closed.is_set():
            return bool(self.original())
        self.parked.set()
        while self.closed.is_set() and not self.dul._kill_thread:
            self.opened.wait(0.05)
        self.parked.clear()
        return False

    def close(self) -> None:
        self.opened.clear()
        self.closed.set()
        self.dul._is_transport_event = self

    def open(self) -> None:
        self.closed.clear()
        self.opened.set()
        self.dul.__dict__.pop("_is_transport_event", None)  # the class's own method again


@contextmanager
def borrow_socket(assoc: Association) -> Iterator[socket.socket]:
    """The association's socket (TCP, or TLS: an SSLSocket), ours alone until the block ends; HandoverError
    if not now."""
    why = available(assoc)
    if why:
        raise HandoverError(why)
    dul = assoc.dul
    gate = _Gate(dul)
    assoc._reactor_checkpoint.clear()
    gate.close()
    try:
        deadline = time.monotonic() + _PARK_LIMIT
        while not (assoc._is_paused and gate.parked.is_set()):
            if time.monotonic() > deadline or not assoc.is_established or not dul.is_alive():
                raise HandoverError("pynetdicom's reactors did not pause")
            time.sleep(0.0001)
        busy = (not dul.to_provider_queue.empty() or not dul.event_queue.empty()
                or not assoc.dimse.msg_queue.empty() or getattr(assoc.dimse, "message", None) is not None)
        if not assoc.is_established or busy:
            raise HandoverError("the association changed while pausing")
        sock = dul.socket.socket if dul.socket is not None else None
        if not isinstance(sock, socket.socket):
            raise HandoverError("the association's transport has gone")
        timeout = sock.gettimeout()
        try:
            yield sock
        finally:
            sock.settimeout(timeout)
    finally:
        gate.open()
        assoc._reactor_checkpoint.set()


def hand_pdu_to_pynetdicom(assoc: Association, raw: bytes) -> None:
    """Give pynetdicom a PDU we read (not P-DATA) as its DUL would have: decoded, evented, queued.
    Call it while the socket is still borrowed; pynetdicom acts on it once given back."""
    dul = assoc.dul
    try:
        pdu, event = dul._decode_pdu(bytearray(raw))
    except Exception as exc:  # what pynetdicom's DUL does with a PDU it cannot decode
        log.debug("pynetdicom cannot decode the PDU handed to it: %s", exc)
        dul.event_queue.put("Evt19")
        return
    dul.event_queue.put(event)
    dul._recv_pdu.put(pdu)


def direct_path(assoc: Association, receive: str = "auto") -> str:
    """'' when a C-GET can take the direct receive path (direct_get.py), else why not.

    pynetdicom's own path stays for debug logging (its PDU and DIMSE dumps are the point of
    ``-d``) and when the ``receive`` setting asks for it (``pynetdicom``: the benchmark's before/after)."""
    if receive == "pynetdicom":
        return "the receive setting is pynetdicom"
    if logging.getLogger("pynetdicom").isEnabledFor(logging.DEBUG):
        return "debug logging shows pynetdicom's own protocol log"
    return available(assoc)


def negotiated(assoc: Association, model_uid: str) -> Negotiated:
    """What ``assoc`` agreed, for a direct C-GET of ``model_uid``."""
    context = assoc._get_valid_context(model_uid, "", "scu")
    accepted = [cx for cx in assoc.accepted_contexts if cx.context_id is not None]
    return Negotiated(
        get_context=(int(context.context_id or 0), str(context.transfer_syntax[0])),
        storage={int(cx.context_id or 0): (str(cx.abstract_syntax), str(cx.transfer_syntax[0]))
                 for cx in accepted if cx.as_scp},
        accepted=frozenset(int(cx.context_id or 0) for cx in accepted),
        peer_max_pdu=int(assoc.acceptor.maximum_length or 0), max_pdu=int(assoc.requestor.maximum_length or 0))


@contextmanager
def brisk(assoc: Association) -> Iterator[None]:
    """pynetdicom's reader sleeps ``_run_loop_delay`` (1 ms by default) whenever a pass found no data:
    on a retrieve or a C-FIND that is a millisecond a message. Inside the block it polls briskly; an
    idle shell goes back to the value it had, so it does not spin."""
    dul = assoc.dul
    idle = dul._run_loop_delay
    dul._run_loop_delay = BRISK_LOOP_DELAY
    try:
        yield
    finally:
        dul._run_loop_delay = idle


@contextmanager
def quiet(assoc: Association) -> Iterator[None]:
    """An association waiting for work (a parallel retrieve's, between shares): its reader polls gently
    and its reactor is paused, as pynetdicom pauses it for a request of its own. Each of them otherwise
    wakes two thousand times a second, and eight of them slow everything else down."""
    dul = assoc.dul
    idle = dul._run_loop_delay
    dul._run_loop_delay = QUIET_LOOP_DELAY
    assoc._reactor_checkpoint.clear()
    try:
        yield
    finally:
        dul._run_loop_delay = idle
        assoc._reactor_checkpoint.set()


@contextmanager
def timing(assoc: Association) -> Iterator[None]:
    """A request timed for its round trip alone: pynetdicom's reactor paused beforehand (a request of
    pynetdicom's waits for the reactor's next millisecond tick to pause it, inside the time measured) and
    its reader polling briskly."""
    reactor_parked(assoc)  # a reactor woken by the last request, and not run yet, still says it is paused
    assoc._reactor_checkpoint.clear()
    deadline = time.monotonic() + _PARK_LIMIT
    while not assoc._is_paused and time.monotonic() < deadline:
        time.sleep(0.0001)
    try:
        with brisk(assoc):
            yield
    finally:
        assoc._reactor_checkpoint.set()
