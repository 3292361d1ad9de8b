"""Fake peers that send objects no archive should: data sets cut short, random bytes, trailing
garbage, command UIDs that are empty, not UIDs, or disagree with the data set.

pynetdicom cannot send such a C-STORE-RQ (it validates and encodes from a Dataset), so a ``Bad``
object is written as raw P-DATA on the fake's socket, with any command UIDs and any data set bytes,
from *within* pynetdicom's own C-GET service: the fake association's ``send_c_store`` is replaced
for the objects the script marks, so pynetdicom still counts each sub-operation from getsh's real
C-STORE-RSP and sends honest pending and final responses.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydicom import Dataset
from pynetdicom.dsutils import encode
from pynetdicom.sop_class import CTImageStorage

from tests.faults.fake_peers import UID_ROOT, FakeQR, Script, make_objects, wait_for

_ELEMENT = struct.Struct("<HHI")


@dataclass(frozen=True)
class Bad:
    """One C-STORE-RQ as the fake writes it: the command's UIDs and the data set as bytes (or a
    Dataset, encoded in the presentation context's transfer syntax), any of them wrong. The
    presentation context is the one accepted for ``context_class`` (default: ``sop_class``)."""

    sop_class: str
    sop_instance: str
    data: bytes | Dataset
    context_class: str = ""


def ct(uid: str = f"{UID_ROOT}.9.1", *, patient_id: str = "FAKE001") -> Dataset:
    """One small, whole CT object with SOP Instance UID ``uid``."""
    (ds,) = make_objects(1, patient_id=patient_id, tag="9")
    ds.SOPInstanceUID = uid
    return ds


def encoded(ds: Dataset, implicit: bool = False) -> bytes:
    data = encode(ds, implicit, True)
    assert data is not None
    return data


def _command(message_id: int, sop_class: str, sop_instance: str) -> bytes:
    def ui(text: str) -> bytes:
        raw = text.encode("latin-1")
        return raw + b"\0" * (len(raw) & 1)

    elements = [
        (0x0002, ui(sop_class)),
        (0x0100, struct.pack("<H", 0x0001)),  # C-STORE-RQ
        (0x0110, struct.pack("<H", message_id)),
        (0x0700, struct.pack("<H", 2)),  # priority low
        (0x0800, struct.pack("<H", 0x0000)),  # a data set follows
        (0x1000, ui(sop_instance)),
    ]
    body = b"".join(_ELEMENT.pack(0, e, len(v)) + v for e, v in elements)
    return _ELEMENT.pack(0, 0, 4) + struct.pack("<I", len(body)) + body


def _pdu(context_id: int, control: int, fragment: bytes) -> bytes:
    pdv = struct.pack(">IBB", len(fragment) + 2, context_id, control) + fragment
    return struct.pack(">BBI", 0x04, 0x00, len(pdv)) + pdv


def c_store_pdus(context_id: int, message_id: int, bad: Bad, implicit: bool, max_pdu: int) -> bytes:
    """The whole C-STORE-RQ: command in one PDU, the data set in PDUs of at most ``max_pdu``."""
    data = bad.data if isinstance(bad.data, bytes) else encoded(bad.data, implicit)
    room = max((max_pdu or 16384) - 6, 1)
    pieces = [data[i : i + room] for i in range(0, len(data), room)] or [b""]
    out = [_pdu(context_id, 0x03, _command(message_id, bad.sop_class, bad.sop_instance))]
    out += [_pdu(context_id, 0x02 if n == len(pieces) - 1 else 0x00, p) for n, p in enumerate(pieces)]
    return b"".join(out)


def sends_bad(items: Sequence[Dataset | Bad]) -> Script:
    """Send ``items`` in order: a Dataset as pynetdicom sends it, a ``Bad`` as raw PDUs; the
    pending and final C-GET-RSPs count getsh's answers to both."""

    def script(event: Any, fake: FakeQR) -> Iterator[Any]:
        assoc = event.assoc
        marked: dict[int, Bad] = {}
        genuine = assoc.send_c_store

        def send_c_store(dataset: Dataset, msg_id: int = 1, **kwargs: Any) -> Dataset:
            bad = marked.get(id(dataset))
            if bad is None:
                return genuine(dataset, msg_id=msg_id, **kwargs)  # type: ignore[no-any-return]
            wanted = bad.context_class or bad.sop_class
            cx = next(cx for cx in assoc.accepted_contexts if cx.abstract_syntax == wanted and cx.as_scu)
            our_max = int(assoc.requestor.maximum_length or 0)  # what getsh announced it receives
            raw = c_store_pdus(cx.context_id, msg_id, bad, cx.transfer_syntax[0].is_implicit_VR, our_max)
            wait_for(lambda: not assoc.dul.to_provider_queue.queue, 5.0, "pynetdicom's send queue to drain")
            time.sleep(0.02)
            assoc.dul.socket.socket.sendall(raw)
            _, rsp = assoc.dimse.get_msg(block=True)
            status = Dataset()
            if rsp is not None and getattr(rsp, "Status", None) is not None:
                status.Status = rsp.Status
            return status

        assoc.send_c_store = send_c_store
        yield len(items)
        for item in items:
            if isinstance(item, Bad):
                stand_in = Dataset()
                stand_in.SOPClassUID = item.sop_class or CTImageStorage
                if item.sop_instance:
                    stand_in.SOPInstanceUID = item.sop_instance
                marked[id(stand_in)] = item
                yield 0xFF00, stand_in
            else:
                yield 0xFF00, item

    return script
