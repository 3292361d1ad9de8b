"""Scripts for ``FakeQR`` (fake_peers.py) whose retrieve never ends on its own: pending responses for
ever, a C-STORE whose data set trickles in a byte at a time under the DIMSE timeout, C-STOREs
without end. With ``sends(..., honour_cancel=False)`` they are the peers the bounds of a retrieve
(getsh/dicom/retrieve/bounds.py) are tested against.

Each script stops by itself once the fake is stopped (``fake.release``), the connection fails, or
after ``STALL_LIMIT`` seconds, so a test that fails leaves no thread behind.
"""

from __future__ import annotations

import copy
import struct
import time
from collections.abc import Iterator
from io import BytesIO
from typing import Any

from pydicom import Dataset
from pynetdicom.dimse_messages import C_GET_RSP, C_STORE_RQ
from pynetdicom.dimse_primitives import C_GET, C_STORE
from pynetdicom.dsutils import encode

from tests.faults.fake_peers import STALL_LIMIT, UID_ROOT, FakeQR, Script, make_objects, wait_for


def p_data(context_id: int, header: int, fragment: bytes) -> bytes:
    """One P-DATA-TF PDU holding one PDV (PS3.8 9.3.5); header 0x03: a whole command, 0x02: last data."""
    pdv = struct.pack(">IBB", len(fragment) + 2, context_id, header) + fragment
    return struct.pack(">BBI", 0x04, 0x00, len(pdv)) + pdv


def _send_raw(assoc: Any, data: bytes) -> bool:
    """Write on the association's socket once pynetdicom has sent what it queued; False if the
    connection is gone."""
    try:
        wait_for(lambda: not assoc.dul.to_provider_queue.queue, 5.0, "pynetdicom's send queue to drain")
        assoc.dul.socket.socket.sendall(data)
    except (OSError, AttributeError, AssertionError):
        return False
    return True


def _response(event: Any, status: int, *, remaining: int | None = None, completed: int = 0, failed: int = 0,
              warning: int = 0) -> bytes:
    """A C-GET-RSP for the running request, as bytes on the wire."""
    rsp = C_GET()
    rsp.MessageIDBeingRespondedTo = event.request.MessageID
    rsp.AffectedSOPClassUID = event.request.AffectedSOPClassUID
    rsp.Status = status
    if remaining is not None:
        rsp.NumberOfRemainingSuboperations = remaining
    rsp.NumberOfCompletedSuboperations, rsp.NumberOfFailedSuboperations = completed, failed
    rsp.NumberOfWarningSuboperations = warning
    msg = C_GET_RSP()
    msg.primitive_to_message(rsp)
    command = encode(msg.command_set, True, True)
    assert command is not None
    return p_data(event.context.context_id, 0x03, command)


def pending_forever(interval: float = 0.3) -> Script:
    """Answer the C-GET with a pending response every ``interval`` seconds and nothing else: the
    association is busy (no DIMSE timeout fires) but no object ever comes."""

    def script(event: Any, fake: FakeQR) -> Iterator[Any]:
        yield 1
        began = time.monotonic()
        while not fake.release.wait(interval) and time.monotonic() - began < STALL_LIMIT:
            if not _send_raw(event.assoc, _response(event, 0xFF00, remaining=1)):
                break
        fake.stall()
        yield 0xA700, None  # never reached in a test: stop() comes first and the association is gone

    return script


def trickles(objects: list[Dataset], partial: Dataset, *, interval: float = 1.0) -> Script:
    """Send ``objects``, then a C-STORE-RQ for ``partial`` whose data set comes one byte every
    ``interval`` seconds: each byte resets a per-message timer, no object ever completes."""

    def script(event: Any, fake: FakeQR) -> Iterator[Any]:
        yield len(objects) + 1
        for ds in objects:
            yield 0xFF00, ds
        assoc = event.assoc
        whole = c_store_pdus(assoc, partial, len(objects) + 1, fragment=1 << 30)
        head = len(whole) - len(partial.PixelData) // 2  # the command and some of the data set
        if _send_raw(assoc, whole[:head]):
            began = time.monotonic()
            for byte in whole[head:-1]:  # never the last one
                if fake.release.wait(interval) or time.monotonic() - began > STALL_LIMIT:
                    break
                if not _send_raw(assoc, bytes([byte])):
                    break
        fake.stall()
        yield 0xA700, None

    return script


def c_store_pdus(assoc: Any, ds: Dataset, message_id: int, *, fragment: int = 16000) -> bytes:
    """A whole C-STORE-RQ as P-DATA-TF PDUs, the data set in fragments of at most ``fragment`` bytes."""
    cx = next(cx for cx in assoc.accepted_contexts if cx.abstract_syntax == ds.SOPClassUID and cx.as_scu)
    syntax = cx.transfer_syntax[0]
    data = encode(ds, syntax.is_implicit_VR, syntax.is_little_endian)
    assert data is not None
    req = C_STORE()
    req.MessageID, req.Priority = message_id, 2
    req.AffectedSOPClassUID, req.AffectedSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    req.DataSet = BytesIO(data)
    msg = C_STORE_RQ()
    msg.primitive_to_message(req)
    command = encode(msg.command_set, True, True)
    assert command is not None
    pdus = [p_data(cx.context_id, 0x03, command)]
    for start in range(0, len(data), fragment):
        last = start + fragment >= len(data)
        pdus.append(p_data(cx.context_id, 0x02 if last else 0x00, data[start:start + fragment]))
    return b"".join(pdus)


def sends_slowly(ds: Dataset, *, per_second: int) -> Script:
    """One big object at ``per_second`` bytes a second (a slow link, in max-PDU-sized PDUs), then the
    final response: an object that takes longer than no-progress-timeout, but steadily."""

    def script(event: Any, fake: FakeQR) -> Iterator[Any]:
        yield 1
        raw = c_store_pdus(event.assoc, ds, 1)
        step = max(1, per_second // 10)
        for start in range(0, len(raw), step):
            if fake.release.wait(0.1) or not _send_raw(event.assoc, raw[start:start + step]):
                break
        else:
            fake.release.wait(0.3)  # getsh's C-STORE-RSP first
            _send_raw(event.assoc, _response(event, 0x0000, completed=1))
        fake.stall()
        yield 0xA700, None

    return script


def stores_without_end(*, delay: float = 0.0, honour_cancel: bool = True, pixels: int = 4096) -> Script:
    """C-STOREs without end (up to 65,535, the most a count can say): a new object each time
    (``endless_object``)."""
    template = make_objects(1, pixels=pixels)[0]

    def script(event: Any, fake: FakeQR) -> Iterator[Any]:
        yield 0xFFFF
        for n in range(1, 0xFFFF + 1):
            if (honour_cancel and event.is_cancelled) or fake.release.is_set():
                yield 0xFE00, None
                return
            if delay and n > 1:
                fake.release.wait(delay)
            yield 0xFF00, endless_object(n, template)

    return script


def endless_object(n: int, template: Dataset | None = None) -> Dataset:
    """``stores_without_end``'s n-th object: its own UID and pixel values."""
    ds = copy.deepcopy(template or make_objects(1)[0])
    ds.SOPInstanceUID = f"{UID_ROOT}.9.{n}"
    ds.InstanceNumber = n
    ds.PixelData = bytes([n % 256]) * len(ds.PixelData)
    return ds


def miscounts(objects: list[Dataset], *, status: int, completed: int, failed: int) -> Script:
    """Send ``objects``, then a final response whose counts are whatever it likes (7 completed and 9
    failed for one object), then nothing (pynetdicom's own final response never goes out)."""

    def script(event: Any, fake: FakeQR) -> Iterator[Any]:
        yield len(objects)
        for ds in objects:
            yield 0xFF00, ds
        _send_raw(event.assoc, _response(event, status, completed=completed, failed=failed))
        fake.stall()
        yield 0xA700, None

    return script
