"""Peers that say no: an A-ASSOCIATE-RJ of any result, source and reason, a Q/R GET model refused,
and the SCP role refused for every storage class.

``RejectingPeer`` is a raw socket: it reads the A-ASSOCIATE-RQ and answers with the A-ASSOCIATE-RJ
it was given, which a pynetdicom acceptor can produce for only a few combinations. ``NoGetModel``
and ``NoStorageRole`` are FakeQRs (tests/faults/fake_peers.py) whose negotiation is real pynetdicom:
one does not support the Q/R GET models, the other accepts the storage classes but not getsh as
their SCP (SCP/SCU role selection), so the objects could never come back on the association.
"""

from __future__ import annotations

import socket
import struct
import threading
from types import TracebackType

from pynetdicom import AllStoragePresentationContexts
from pynetdicom.sop_class import (
    PatientRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelGet,
)

from tests.faults.fake_peers import HOST, SYNTAXES, FakeQR, Script

# (result, source, reason) → the words getsh must use for each (PS3.8 9.3.4, table 9-21)
REJECTS = {
    (1, 1, 1): "rejected permanently by the service user: no reason given",
    (1, 1, 2): "rejected permanently by the service user: application context name not supported",
    (1, 1, 3): "rejected permanently by the service user: calling AE title not recognised",
    (1, 1, 7): "rejected permanently by the service user: called AE title not recognised",
    (1, 2, 1): "rejected permanently by the service provider (ACSE): no reason given",
    (1, 2, 2): "rejected permanently by the service provider (ACSE): protocol version not supported",
    (2, 3, 1): "rejected transiently by the service provider (presentation): temporary congestion",
    (2, 3, 2): "rejected transiently by the service provider (presentation): local limit exceeded",
    (2, 1, 3): "rejected transiently by the service user: calling AE title not recognised",
    (2, 1, 1): "rejected transiently by the service user: no reason given",
}


def reject_pdu(result: int, source: int, reason: int) -> bytes:
    """An A-ASSOCIATE-RJ PDU: type 03, length 4, then reserved, result, source, reason."""
    return struct.pack(">BBIBBBB", 0x03, 0, 4, 0, result, source, reason)


class RejectingPeer:
    """Answers every association request with the same A-ASSOCIATE-RJ, then closes the connection."""

    def __init__(self, result: int, source: int, reason: int) -> None:
        self.pdu = reject_pdu(result, source, reason)
        self.requests = 0  # A-ASSOCIATE-RQs received
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((HOST, 0))
        self._listener.listen(4)
        self._listener.settimeout(0.1)
        self.port = int(self._listener.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"RejectingPeer@{self.port}", daemon=True)

    def __enter__(self) -> RejectingPeer:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                conn.settimeout(5)
                try:
                    header = _read(conn, 6)
                    if header[0] == 0x01:  # A-ASSOCIATE-RQ
                        _read(conn, struct.unpack(">I", header[2:6])[0])
                        self.requests += 1
                        conn.sendall(self.pdu)
                        conn.shutdown(socket.SHUT_WR)
                        conn.recv(1)  # until the requestor closes
                except OSError:
                    pass


def _read(conn: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = conn.recv(count - len(data))
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data


class NoGetModel(FakeQR):
    """Accepts the association (storage and verification) but not the Patient Root Q/R GET model; the
    Study Root one too unless ``study_root``."""

    def __init__(self, script: Script, *, study_root: bool = True) -> None:
        super().__init__(script, ae_title="NO-GET")
        self._ae.remove_supported_context(PatientRootQueryRetrieveInformationModelGet)
        if not study_root:
            self._ae.remove_supported_context(StudyRootQueryRetrieveInformationModelGet)


class NoStorageRole(FakeQR):
    """Accepts the Q/R GET model and every storage class, but grants getsh the SCP role for none of them.

    ``refuse=False``: it ignores role selection (no role item in its answer), so each storage context is
    accepted with the default roles, getsh as SCU only — a peer that does not do C-GET. ``refuse=True``:
    it answers the role item with SCP refused, and pynetdicom then rejects the context (user rejection).
    """

    def __init__(self, script: Script, *, refuse: bool = False) -> None:
        super().__init__(script, ae_title="NO-ROLE")
        for cx in AllStoragePresentationContexts:
            self._ae.remove_supported_context(cx.abstract_syntax)
            if refuse:
                self._ae.add_supported_context(cx.abstract_syntax, SYNTAXES, scu_role=True, scp_role=False)
            else:
                self._ae.add_supported_context(cx.abstract_syntax, SYNTAXES)
