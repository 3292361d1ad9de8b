"""One way to end a retrieve early, whoever asks: Ctrl-C, a cap or a deadline (bounds.py).

Two strengths, each with a reason kept for the result's words: ``cancel`` sends C-CANCEL-RQ and
keeps receiving until the peer's final response (what arrives is kept); ``abort`` ends the
association now. Both work on either receive path: while the direct path holds the socket
(``direct``) through its ``DirectGet`` (which sends on the borrowed socket, or stops via its
transport's wake-up), otherwise through pynetdicom's association (``PynetdicomPath``).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Protocol, TypeVar

from pynetdicom.association import Association

log = logging.getLogger("getsh.retrieve")
T = TypeVar("T")

READER_GRACE = 0.5  # seconds pynetdicom's reader may take to send a queued A-ABORT


class Stoppable(Protocol):
    """A receive path as the cancel mechanism sees it (methods called from any thread)."""

    def cancel(self) -> None:
        """Send C-CANCEL-RQ for the running request."""
        ...

    def stop(self) -> None:
        """End the request now; the association is aborted."""
        ...


class PynetdicomPath:
    """pynetdicom's own receive path: C-CANCEL and A-ABORT through the association, and a mend."""

    def __init__(self, assoc: Association, message_id: int, model_uid: str) -> None:
        self.assoc, self.message_id, self.model_uid = assoc, message_id, model_uid

    def cancel(self) -> None:
        self.assoc.send_c_cancel(self.message_id, query_model=self.model_uid)

    def stop(self) -> None:
        """A-ABORT. pynetdicom's own blocking abort waits for its reader, which sends the A-ABORT only
        between two PDUs: a peer that trickles one PDU a byte at a time would hold it (and the caller)
        as long as it likes. So the A-ABORT is queued; if the reader has not taken it within
        ``READER_GRACE`` the connection is shut down under it (the peer sees it closed)."""
        assoc = self.assoc
        assoc.abort(block=False)
        deadline = time.monotonic() + READER_GRACE
        while assoc.dul.to_provider_queue.queue and time.monotonic() < deadline:
            time.sleep(0.01)
        if assoc.dul.to_provider_queue.queue:
            log.debug("pynetdicom's reader is inside a PDU: closing the connection under it")
            with suppress(Exception):
                assoc.dul.socket.socket.shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]
        assoc.kill()
        with suppress(Exception):
            assoc.dul.socket._shutdown_socket()  # type: ignore[union-attr]
        self.wake()

    def wake(self) -> None:
        """Tell a worker waiting for the next message that none will come. pynetdicom does so (with an
        empty message) when the peer aborts or closes the connection, but not when our side aborts:
        at our request, or on an invalid message from the peer (then it waits for ever)."""
        self.assoc.dimse.msg_queue.put((None, None))


class Cancellation:
    """Where anyone asks a running request to cancel or abort; it knows which path to tell."""

    def __init__(self, stock: PynetdicomPath) -> None:
        self._stock = stock
        self._direct: Stoppable | None = None
        self._lock = threading.Lock()
        self.cancelled = ""  # why C-CANCEL-RQ was asked for ('' if it was not)
        self.cancelled_at: float | None = None  # when (monotonic), for the grace period after it
        self.aborted = ""  # why the abort was asked for ('' if it was not)
        self._sent = False  # the request has gone out (on pynetdicom's path; the direct path sends its own)
        self._owed = False  # a C-CANCEL asked for before the request went out, not sent yet

    def cancel(self, reason: str) -> bool:
        """Send C-CANCEL-RQ (once: later asks add nothing, and return False); responses keep coming
        until the final one. From any thread."""
        with self._lock:
            if self.cancelled:
                return False
            self.cancelled, self.cancelled_at = reason, time.monotonic()
            path = self._direct or self._stock
            if self._direct is None and not self._sent:  # asked before the request went out: it follows it
                self._owed = True
                return True
        self._send(path)
        return True

    def sent(self, responses: T) -> T:
        """pynetdicom's path has sent the request (``responses``, passed through, are its answers to
        come): a C-CANCEL asked for before it goes now. Sent
        before the request, a peer drops it as late (dcmqrscp: "late C-CANCEL-RQ, ignoring") and
        carries on, and the retrieve waits out the cancel-grace; on the direct path it could also
        be written into the middle of the request's PDUs. A parallel retrieve's Ctrl-C or limit
        reaches C-GETs just starting, so this was common there (a lane aborted after 5 s)."""
        with self._lock:
            self._sent, owed, self._owed = True, self._owed, False
        if owed:
            self._send(self._stock)
        return responses

    @staticmethod
    def _send(path: Stoppable | PynetdicomPath) -> None:
        try:
            path.cancel()
        except Exception as error:  # the association may already be gone
            log.debug("C-CANCEL failed: %s", error)

    def abort(self, reason: str) -> None:
        """A-ABORT now. On the direct path its worker gives the socket back to pynetdicom first,
        then aborts."""
        with self._lock:
            self.aborted = self.aborted or reason
            direct = self._direct
        if direct is not None:
            direct.stop()
            return
        self._stock.stop()

    @contextmanager
    def direct(self, path: Stoppable) -> Iterator[None]:
        """While the direct path holds the socket, asks go to it; an abort asked for before it
        began stops it at once."""
        with self._lock:
            self._direct = path
            if self.aborted:
                path.stop()
            owed, self._owed = self._owed, False
        if owed:  # asked before: the direct path sends it after its request
            self._send(path)
        try:
            yield
        finally:
            with self._lock:
                self._direct, self._sent = None, True

    def wake(self) -> None:
        """The association ended under pynetdicom's path without it telling the waiting worker: tell
        it. Not while the direct path holds the socket (pynetdicom is parked: nothing can end it)."""
        with self._lock:
            if self._direct is not None:
                return
        self._stock.wake()
