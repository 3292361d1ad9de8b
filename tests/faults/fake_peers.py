"""Small Q/R SCPs that misbehave on purpose, for the fault and cancel tests of ``get``.

A ``FakeQR`` is a real pynetdicom acceptor on 127.0.0.1 (so association negotiation, role
selection and DIMSE are genuine) whose C-GET answer is a *script*: a pynetdicom C-GET handler
generator written in a line or two (``sends``, ``stalls``, ``sends_partial_data``, …). Where
pynetdicom cannot misbehave enough, a script writes raw PDUs on the association's socket.

Every fake records what the peer side saw: the statuses getsh answered its C-STOREs with, the
C-CANCEL requests, the C-GET requests and associations. ``stop()`` releases stalled scripts,
aborts open associations and closes the listener; use a fake as a context manager.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from io import BytesIO
from types import TracebackType
from typing import Any

from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, AllStoragePresentationContexts, _config, evt
from pynetdicom.dimse_messages import C_STORE_RQ
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.dsutils import encode
from pynetdicom.sop_class import (
    CTImageStorage,
    PatientRootQueryRetrieveInformationModelGet,
    StudyRootQueryRetrieveInformationModelGet,
    Verification,
)
from pynetdicom.transport import ThreadedAssociationServer

HOST = "127.0.0.1"
UID_ROOT = "1.2.826.0.1.3680043.10.1137"
SYNTAXES = [ExplicitVRLittleEndian, ImplicitVRLittleEndian]
STALL_LIMIT = 30.0  # a stalled script gives up by itself after this, even if nobody stops it

Script = Callable[[Any, "FakeQR"], Iterator[Any]]


def make_objects(count: int, *, patient_id: str = "FAKE001", pixels: int = 4096, tag: str = "1") -> list[Dataset]:
    """``count`` small CT objects of one series, ready for pynetdicom to send (they carry File Meta)."""
    objects = []
    for n in range(1, count + 1):
        ds = Dataset()
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = f"{UID_ROOT}.{tag}.{n}"
        ds.PatientID, ds.PatientName = patient_id, "FAKE^PATIENT"
        ds.StudyInstanceUID, ds.SeriesInstanceUID = f"{UID_ROOT}.{tag}.100", f"{UID_ROOT}.{tag}.200"
        ds.Modality, ds.InstanceNumber = "CT", n
        ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored, ds.HighBit = 1, pixels, 8, 8, 7
        ds.SamplesPerPixel, ds.PixelRepresentation, ds.PhotometricInterpretation = 1, 0, "MONOCHROME2"
        ds.PixelData = bytes([n % 256]) * pixels
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        objects.append(ds)
    return objects


# --- pynetdicom's UID check, relaxed only on a fake's own threads ------------------------------

_lenient = threading.local()
_validator_lock = threading.Lock()
_validator_users = 0
_strict_ui: Any = None


def _ui_validator(value: Any) -> tuple[bool, str]:
    if getattr(_lenient, "on", False):
        return True, ""
    return _strict_ui(value)  # type: ignore[no-any-return]


def _install_validator() -> None:
    """A peer may send any UID; pynetdicom refuses to *send* one over 64 characters. Relax that on
    the threads of fakes that ask for it, and nowhere else: getsh's receiving side stays stock."""
    global _validator_users, _strict_ui
    with _validator_lock:
        if _validator_users == 0:
            _strict_ui = _config.VALIDATORS["UI"]
            _config.VALIDATORS["UI"] = _ui_validator
        _validator_users += 1


def _remove_validator() -> None:
    global _validator_users
    with _validator_lock:
        _validator_users -= 1
        if _validator_users == 0:
            _config.VALIDATORS["UI"] = _strict_ui


# --- the fake ---------------------------------------------------------------------------------

class FakeQR:
    """A C-GET SCP whose answer to each C-GET is ``script(event, fake)``, a pynetdicom handler
    generator (first yield: the number of sub-operations; then ``(status, dataset)`` pairs)."""

    def __init__(self, script: Script, *, ae_title: str = "FAKE-QR", lenient_uids: bool = False) -> None:
        self.script = script
        self.ae_title = ae_title
        self.lenient_uids = lenient_uids
        self.port = 0
        self.release = threading.Event()  # set by stop(): stalled scripts return
        self.store_statuses: list[int] = []  # what getsh answered each C-STORE with
        self.cancels = 0  # C-CANCEL-RQs received
        self.requests = 0  # C-GET-RQs received
        self.associations = 0
        self.sent = 0  # C-STORE-RQs the script sent (yielded), finished or not
        self._server: Any = None
        self._ae = AE(ae_title)
        self._ae.network_timeout = None
        self._ae.maximum_associations = 4
        for cx in AllStoragePresentationContexts:
            self._ae.add_supported_context(cx.abstract_syntax, SYNTAXES, scu_role=True, scp_role=True)
        for sop_class in (Verification, PatientRootQueryRetrieveInformationModelGet,
                          StudyRootQueryRetrieveInformationModelGet):
            self._ae.add_supported_context(sop_class, SYNTAXES)

    def start(self) -> int:
        if self.lenient_uids:
            _install_validator()
        self._server = self._ae.make_server((HOST, 0), evt_handlers=[
            (evt.EVT_CONN_OPEN, self._on_open),
            (evt.EVT_C_GET, self._on_get),
            (evt.EVT_DIMSE_RECV, self._on_dimse),
        ], server_class=ThreadedAssociationServer)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         name=f"FakeQR@{self._server.server_address[1]}", daemon=True).start()
        self.port = int(self._server.server_address[1])
        return self.port

    def stop(self) -> None:
        """Release stalled scripts, abort open associations, close the listener. Idempotent."""
        self.release.set()
        server, self._server = self._server, None
        if server is None:
            return
        threads = list(server.active_associations)
        for assoc in threads:
            assoc.abort()
        try:
            server.shutdown()
        except ValueError:  # it unregisters from the AE's server list, where it never was
            pass
        server.server_close()
        for thread in threads:
            thread.join(timeout=5)
        if self.lenient_uids:
            _remove_validator()

    def __enter__(self) -> FakeQR:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def stall(self, seconds: float = STALL_LIMIT) -> None:
        """Say nothing until stop() (or ``seconds``)."""
        self.release.wait(seconds)

    # --- pynetdicom handlers (on the fake's association threads) ---------------------------

    def _on_open(self, event: Any) -> None:
        self.associations += 1
        try:
            event.assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (AttributeError, OSError):
            pass

    def _on_get(self, event: Any) -> Iterator[Any]:
        self.requests += 1
        _lenient.on = self.lenient_uids
        try:
            for item in self.script(event, self):
                if isinstance(item, tuple) and item[0] == 0xFF00:
                    self.sent += 1
                yield item
        finally:
            _lenient.on = False

    def _on_dimse(self, event: Any) -> None:
        message = event.message
        name = type(message).__name__
        if name == "C_STORE_RSP":
            self.store_statuses.append(int(message.command_set.Status))
        elif name == "C_CANCEL_RQ":
            self.cancels += 1


# --- scripts ----------------------------------------------------------------------------------

def sends(objects: Sequence[Dataset], *, delay: float = 0.0, honour_cancel: bool = True,
          abort_after: int | None = None, close_after: int | None = None, stall_after: int | None = None,
          only_first: bool = True) -> Script:
    """Send ``objects`` one C-STORE each, ``delay`` seconds apart; optionally misbehave after n of
    them: A-ABORT, close the TCP connection without a word, or stall. ``only_first``: misbehave on
    the first C-GET only, so the next command can show the shell recovered."""

    def script(event: Any, fake: FakeQR) -> Iterator[Any]:
        misbehave = not only_first or fake.requests == 1
        yield len(objects)
        for n, ds in enumerate(objects):
            if misbehave and n == abort_after:
                event.assoc.abort()
                return
            if misbehave and n == close_after:
                event.assoc.dul.socket.socket.shutdown(socket.SHUT_RDWR)
                fake.stall(2.0)
                return
            if misbehave and n == stall_after:
                fake.stall()
                return
            if honour_cancel and event.is_cancelled:
                yield 0xFE00, None
                return
            if delay and n:
                fake.release.wait(delay)
            yield 0xFF00, ds

    return script


def stalls() -> Script:
    """Accept the C-GET, then never answer."""

    def script(event: Any, fake: FakeQR) -> Iterator[Any]:
        yield 1
        fake.stall()
        yield 0xA700, None  # never reached in a test: stop() comes first and the association is gone

    return script


def sends_partial_data(objects: Sequence[Dataset], partial: Dataset, *, then: str = "stall") -> Script:
    """Send ``objects``, then a C-STORE-RQ for ``partial`` whose data set stops half-way (a P-DATA
    fragment not marked last), then nothing at all (``then="stall"``) or an A-ABORT (``"abort"``)."""

    def script(event: Any, fake: FakeQR) -> Iterator[Any]:
        yield len(objects) + 1
        for ds in objects:
            yield 0xFF00, ds
        send_partial_c_store(event.assoc, partial, message_id=len(objects) + 1)
        if then == "abort":
            fake.release.wait(0.2)  # let the half data set arrive first
            event.assoc.abort()
            return
        fake.stall()
        yield 0xA700, None

    return script


def sends_raw_after(objects: Sequence[Dataset], raw: bytes) -> Script:
    """Send ``objects``, then ``raw`` bytes straight onto the socket (a PDU no DICOM peer sends),
    then nothing more."""

    def script(event: Any, fake: FakeQR) -> Iterator[Any]:
        yield len(objects) + 1
        for ds in objects:
            yield 0xFF00, ds
        wait_for(lambda: not event.assoc.dul.to_provider_queue.queue, 5.0, "pynetdicom's send queue to drain")
        time.sleep(0.05)
        event.assoc.dul.socket.socket.sendall(raw)
        fake.stall()
        yield 0xA700, None

    return script


def send_partial_c_store(assoc: Any, ds: Dataset, *, message_id: int) -> None:
    """Write a C-STORE-RQ straight onto the socket: the whole command, the first half of the data
    set in a fragment that says more follows. pynetdicom would never send that on its own."""
    cx = next(cx for cx in assoc.accepted_contexts if cx.abstract_syntax == ds.SOPClassUID and cx.as_scu)
    syntax = cx.transfer_syntax[0]
    req = C_STORE()
    req.MessageID, req.Priority = message_id, 2
    req.AffectedSOPClassUID, req.AffectedSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    data = encode(ds, syntax.is_implicit_VR, syntax.is_little_endian)
    assert data is not None
    req.DataSet = BytesIO(data)
    msg = C_STORE_RQ()
    msg.primitive_to_message(req)
    command = encode(msg.command_set, True, True)
    assert command is not None
    half = data[: len(data) // 2]
    pdus = _p_data(cx.context_id, 0x03, command) + _p_data(cx.context_id, 0x00, half)  # 0x00: data, not last
    # pynetdicom's DUL thread may still be sending the last pending C-GET-RSP: let it finish first,
    # or our bytes would land in the middle of it.
    wait_for(lambda: not assoc.dul.to_provider_queue.queue, 5.0, "pynetdicom's send queue to drain")
    time.sleep(0.05)
    assoc.dul.socket.socket.sendall(pdus)


def _p_data(context_id: int, header: int, fragment: bytes) -> bytes:
    """One P-DATA-TF PDU holding one PDV (PS3.8 9.3.5)."""
    pdv = struct.pack(">IBB", len(fragment) + 2, context_id, header) + fragment
    return struct.pack(">BBI", 0x04, 0x00, len(pdv)) + pdv


def wait_for(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll until ``condition()``; AssertionError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)
